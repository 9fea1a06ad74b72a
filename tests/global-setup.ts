import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The server tests serve the real pages, so a production build must exist first. */
export default function setup() {
  const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
  const result = spawnSync(process.execPath, [path.join(root, "scripts", "ensure-build.mjs")], {
    cwd: root,
    stdio: "inherit",
  });
  if (result.status !== 0) throw new Error("building the dashboard pages failed");
}
