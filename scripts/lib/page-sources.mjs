import fs from "node:fs";
import path from "node:path";

/**
 * Every source file the dashboard pages are built from: what src/app reaches
 * through its imports (code under src/server the pages share included), found
 * by esbuild rather than listed by hand, plus src/app itself (styles, icons).
 */
export async function pageSources(root) {
  const { build } = await import("esbuild");
  const app = path.join(root, "src", "app");
  const entryPoints = fs
    .readdirSync(app, { recursive: true })
    .filter((file) => /\.tsx?$/.test(file))
    .map((file) => path.join(app, file));
  const { metafile } = await build({
    entryPoints,
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    outdir: path.join(root, ".next", "sources-probe"),
    packages: "external",
    jsx: "automatic",
    loader: { ".css": "empty", ".svg": "empty" },
    logLevel: "silent",
  });
  return [...Object.keys(metafile.inputs).map((input) => path.resolve(root, input)), app];
}
