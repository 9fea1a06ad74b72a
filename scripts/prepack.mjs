#!/usr/bin/env node
// `npm pack` / `npm publish`: builds everything the package carries, so that an
// installed nvidia-oc starts with no build step: the dashboard pages (.next), the
// server bundle and the command line bundle (dist/), and the typed client other
// projects import as nvidia-oc/client (dist/client/).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildClient } from "./build-client.mjs";
import { ensureCliBundle } from "./build-cli.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const build = spawnSync(process.execPath, [path.join(root, "scripts", "ensure-build.mjs")], { cwd: root, stdio: "inherit" });
if (build.status !== 0) process.exit(build.status ?? 1);
await ensureCliBundle();
await buildClient();
