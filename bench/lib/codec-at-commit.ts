/**
 * Chunk format version 2's codec as a given commit wrote it, loaded beside the working tree's:
 * the benches time both in one run and check that they write the same bytes. The codec's own
 * files (chunk-codec-v2.ts, range-coder.ts, chunk-priors-v2.ts) come from `git show`; the
 * modules they import beyond those are the working tree's.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type * as CodecV2 from "../../src/server/storage/chunk-codec-v2";

const ROOT = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));
const STORAGE = "src/server/storage";
const CODEC_FILES = ["chunk-codec-v2", "range-coder", "chunk-priors-v2"];

/**
 * The codec before its encoder and decoder were made faster: blobs of the working tree must
 * match this commit's byte for byte.
 */
export const CODEC_BEFORE_SPEEDUP = "19293a2";

export type CodecV2Module = typeof CodecV2;

/** Imports chunk-codec-v2.ts as it was at `commit` (a copy under the system's temp dir). */
export async function codecAtCommit(commit: string): Promise<CodecV2Module> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `nvoc-codec-${commit.replace(/[^\w.-]/g, "_")}-`));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of CODEC_FILES) {
    let source: string;
    try {
      source = execFileSync("git", ["show", `${commit}:${STORAGE}/${name}.ts`], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      const said = (error as { stderr?: string }).stderr?.trim() || String(error);
      throw new Error(
        `--before ${commit}: git cannot show ${STORAGE}/${name}.ts at that commit (a shallow clone lacks older commits): ${said}`,
      );
    }
    // Relative imports of anything but the codec's own files point back into the working tree.
    const rewritten = source.replace(/from "(\.{1,2}\/[^"]+)"/g, (whole, specifier: string) => {
      if (specifier.startsWith("./") && CODEC_FILES.includes(specifier.slice(2))) return whole;
      return `from ${JSON.stringify(path.join(ROOT, STORAGE, specifier))}`;
    });
    fs.writeFileSync(path.join(dir, `${name}.ts`), rewritten);
  }
  // Loaded as an ES module, as the tree's own is: a CommonJS transform would time other code.
  fs.writeFileSync(path.join(dir, "package.json"), '{ "type": "module" }\n');
  return (await import(pathToFileURL(path.join(dir, "chunk-codec-v2.ts")).href)) as CodecV2Module;
}
