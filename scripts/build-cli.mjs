// The command line runs from a bundle of src/cli (dist/cli.mjs), like the server
// runs from dist/server.mjs: no TypeScript loader at run time, which matters for
// `nvidia-oc start`, as the server then runs inside the command's own process.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const at = (...parts) => path.join(root, ...parts);
const SOURCES = ["src/cli", "src/server", "src/client", "src/generated", "package.json"];

function newestMtime(entry) {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return fs.readdirSync(entry).reduce((max, name) => Math.max(max, newestMtime(path.join(entry, name))), stat.mtimeMs);
}

/**
 * Path of dist/cli.mjs, bundled first when it is missing or older than its
 * sources, with dist/import-reader.mjs: the thread `nvidia-oc import` reads
 * the log on (src/cli/import/reader-thread.ts), and dist/snapshot-thread.mjs:
 * the thread a database is copied on (src/cli/database-copy/snapshot-thread.ts).
 */
export async function ensureCliBundle() {
  const bundle = at("dist", "cli.mjs");
  const threads = ["import-reader.mjs", "snapshot-thread.mjs"];
  const builtAt = fs.existsSync(bundle) && threads.every((name) => fs.existsSync(at("dist", name))) ? fs.statSync(bundle).mtimeMs : 0;
  if (builtAt >= Math.max(...SOURCES.map((entry) => newestMtime(at(entry))))) return bundle;
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: {
      cli: at("src", "cli", "main.ts"),
      "import-reader": at("src", "cli", "import", "reader-thread.ts"),
      "snapshot-thread": at("src", "cli", "database-copy", "snapshot-thread.ts"),
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outdir: path.dirname(bundle),
    outExtension: { ".js": ".mjs" },
    sourcemap: true,
    write: false,
    logLevel: "warning",
  });
  // Commands started side by side may bundle at the same moment: each file is
  // renamed into place whole, so none of them loads a half-written one; the
  // command's own last, as its time says the bundle is complete.
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  const files = [...result.outputFiles].sort((a) => (a.path === bundle ? 1 : -1));
  for (const file of files) {
    const partial = `${file.path}.${process.pid}.tmp`;
    fs.writeFileSync(partial, file.contents);
    fs.renameSync(partial, file.path);
  }
  return bundle;
}
