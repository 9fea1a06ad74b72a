import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folder holding package.json, found by walking up from this module: the
 * server runs both from its sources and from a compiled bundle elsewhere.
 */
function findProjectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json")) && fs.existsSync(path.join(dir, "prisma", "migrations"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("cannot find the nvidia-oc project folder (package.json and prisma/migrations)");
    dir = parent;
  }
}

export const PROJECT_ROOT = findProjectRoot();
