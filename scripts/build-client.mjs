#!/usr/bin/env node
// nvidia-oc/client as the package ships it: compiled JavaScript (dist/client/index.js)
// and one declaration file (dist/client/index.d.ts) that carries the router's types and
// refers to nothing of the server, so that any project, JavaScript or TypeScript under
// any module resolution and strictness, can use it. `npm pack` runs it (scripts/prepack.mjs).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleClientDeclarations } from "./lib/client-declarations.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const entry = path.join(root, "src", "client", "telemetry-client.ts");
// The router's context is what the server hands its procedures (the database, the collector,
// the configuration). tRPC's client types read only the procedures, the transformer and the
// error shape, and the context's classes would bring the server's own dependencies
// (better-sqlite3, Prisma, Node's events) into every consumer's type check.
const serverOnly = path.join(root, "src", "server", "trpc", "context.ts");

/** Writes index.js and index.d.ts of the client into outDir (dist/client by default). */
export async function buildClient(outDir = path.join(root, "dist", "client")) {
  const { build } = await import("esbuild");
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    outfile: path.join(outDir, "index.js"),
    metafile: true,
    write: false,
    logLevel: "warning",
  });
  // The client imports only types from the server, and values only from the shared vocabulary
  // (src/telemetry, which imports nothing else); a value import from the server would bundle server code into it.
  const clientDir = path.dirname(path.relative(root, entry));
  const shared = path.join("src", "telemetry");
  const strays = Object.keys(result.metafile.inputs).filter((input) => path.dirname(input) !== clientDir && path.dirname(input) !== shared);
  if (strays.length)
    throw new Error(`the client's JavaScript would carry ${strays.join(", ")}: import only types from outside ${clientDir} and ${shared}`);
  const declarations = bundleClientDeclarations({ root, entry, serverOnly });
  fs.mkdirSync(outDir, { recursive: true });
  writeWhole(path.join(outDir, "index.js"), result.outputFiles[0].contents);
  writeWhole(path.join(outDir, "index.d.ts"), declarations);
  return outDir;
}

// A build next to a running test or pack replaces each file whole, never half-written.
function writeWhole(file, contents) {
  const partial = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(partial, contents);
  fs.renameSync(partial, file);
}

// `node scripts/build-client.mjs [outDir]`
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = await buildClient(process.argv[2] && path.resolve(process.argv[2]));
  console.log(`client built into ${path.relative(process.cwd(), outDir) || "."}`);
}
