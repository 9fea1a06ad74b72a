#!/usr/bin/env node
// Builds what `npm start` runs when it is missing or older than its sources, so
// a fresh clone needs nothing by hand: the dashboard pages (next build) and the
// server bundle (esbuild; running compiled JavaScript keeps the TypeScript
// loader, about 35 MB, out of a process that runs for months).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const at = (...parts) => path.join(root, ...parts);

function newestMtime(entry) {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(entry).reduce((max, name) => Math.max(max, newestMtime(path.join(entry, name))), stat.mtimeMs);
}

const builtAt = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0);
const sourcesAt = (...entries) => Math.max(...entries.map((e) => newestMtime(at(e))));

// An installed package carries its build and none of the sources: nothing to check.
if (!fs.existsSync(at("src"))) process.exit(0);

const { pageSources } = await import("./lib/page-sources.mjs");
const pagesBuild = at(".next", "BUILD_ID");
if (builtAt(pagesBuild) < Math.max(sourcesAt("next.config.mjs", "package.json"), ...(await pageSources(root)).map(newestMtime))) {
  console.log(builtAt(pagesBuild) ? "dashboard sources changed: rebuilding pages" : "building the dashboard pages (first start only)");
  const result = spawnSync(process.execPath, [at("node_modules", "next", "dist", "bin", "next"), "build"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const serverBundle = at("dist", "server.mjs");
// The server also bundles what it imports from src/telemetry (the catalogue, the wire columns) and src/lib.
if (builtAt(serverBundle) < sourcesAt("src/server", "src/telemetry", "src/lib", "src/generated", "package.json")) {
  const { build } = await import("esbuild");
  const { dependencies } = JSON.parse(fs.readFileSync(at("package.json"), "utf8"));
  await build({
    entryPoints: [at("src", "server", "main.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Dependencies stay in node_modules (native better-sqlite3, Next, Prisma's runtime). Prisma's
    // SQLite adapter, a build-time dependency, is bundled: installed, it would bring its own
    // better-sqlite3 (major 11, unbuilt) where this bundle makes it use the package's own.
    external: Object.keys(dependencies),
    outfile: serverBundle,
    sourcemap: true,
    logLevel: "warning",
  });
}
