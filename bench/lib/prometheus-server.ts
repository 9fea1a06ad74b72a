import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** Turns an OpenMetrics file into TSDB blocks in `dir` (added to those already there), then deletes the file. */
export function createBlocks(promtool: string, file: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ["tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const said: Buffer[] = [];
    for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => said.push(chunk));
    child.once("error", reject);
    child.once("exit", (code) => {
      fs.rmSync(file, { force: true });
      if (code === 0) resolve();
      else reject(new Error(`promtool create-blocks-from openmetrics ${file} exited with ${code}: ${Buffer.concat(said).toString()}`));
    });
  });
}

/** Bytes of the TSDB's blocks (chunks, index, meta, tombstones), without the write-ahead log and head chunks. */
export function blockBytes(dir: string): { bytes: number; blocks: number } {
  let bytes = 0;
  let blocks = 0;
  const sizeOf = (entry: string): number =>
    fs.statSync(entry).isDirectory()
      ? fs.readdirSync(entry).reduce((sum, name) => sum + sizeOf(path.join(entry, name)), 0)
      : fs.statSync(entry).size;
  for (const name of fs.readdirSync(dir)) {
    if (!fs.existsSync(path.join(dir, name, "meta.json"))) continue;
    blocks++;
    bytes += sizeOf(path.join(dir, name));
  }
  return { bytes, blocks };
}
