#!/usr/bin/env node
// Builds the dashboard pages when there is no production build yet or when a
// page source is newer than it, so `npm start` works on a fresh clone.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const buildId = path.join(root, ".next", "BUILD_ID");

function newestMtime(entry) {
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(entry).reduce((max, name) => Math.max(max, newestMtime(path.join(entry, name))), stat.mtimeMs);
}

const inputs = ["src/app", "src/components", "src/lib", "src/server/routers", "next.config.mjs", "package.json"]
  .map((p) => path.join(root, p))
  .filter((p) => fs.existsSync(p));
const builtAt = fs.existsSync(buildId) ? fs.statSync(buildId).mtimeMs : 0;
const sourcesAt = Math.max(...inputs.map(newestMtime));

if (builtAt >= sourcesAt) process.exit(0);
console.log(builtAt ? "dashboard sources changed: rebuilding pages" : "building the dashboard pages (first start only)");
const result = spawnSync(process.execPath, [path.join(root, "node_modules", "next", "dist", "bin", "next"), "build"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
});
process.exit(result.status ?? 1);
