#!/usr/bin/env node
// After `npm install` in a clone: generates the Prisma client the server is built
// from. An installed package carries its server already built and no sources,
// so there is nothing to do (and no Prisma CLI to do it with).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
if (fs.existsSync(path.join(root, "src"))) {
  const result = spawnSync(process.execPath, [path.join(root, "scripts", "prisma.mjs"), "generate"], { cwd: root, stdio: "inherit" });
  process.exit(result.status ?? 1);
}
