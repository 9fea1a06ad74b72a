/**
 * Size and speed of the chunk codec, format version 1 (varint columns + raw deflate) beside
 * version 2 (predicted columns, range-coded), in one run:
 *   npx tsx bench/chunk-codec.bench.ts            sizes, then encode/decode speed of both
 *   npx tsx bench/chunk-codec.bench.ts --sizes    sizes only
 *   npx tsx bench/chunk-codec.bench.ts --levels   also size and speed of each deflate level (version 1)
 * Sizes: 8 simulated H200s (scripts/lib/generate-history.ts) cut into 600-row chunks; the real
 * H200 capture in bench/data as the one chunk bench/run.ts makes of it; the realistic 600-row
 * chunk the tests size. Speed on the realistic chunk.
 */
import os from "node:os";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeChunk, decodeChunkColumns, encodeChunk, encodeChunkVersion1, type ChunkRow } from "../src/server/storage/chunk-codec";
import { METRIC_KEYS } from "../src/telemetry/types";
import { simulatedReadings } from "../scripts/lib/generate-history";
import { realisticChunk } from "../tests/helpers/realistic-chunk";
import { h200Capture } from "./lib/h200-capture";
import { measure } from "./lib/measure";
import { machineLine } from "./lib/results-file";

const ROWS_PER_CHUNK = 600;
const SIMULATED_GPUS = 8;
const CHUNKS_PER_GPU = 50;

function simulatedChunks(): ChunkRow[][] {
  const chunks: ChunkRow[][] = [];
  const window = { ticks: ROWS_PER_CHUNK * CHUNKS_PER_GPU, intervalMs: 1000, endsAt: Date.UTC(2026, 11, 1) };
  for (let gpu = 0; gpu < SIMULATED_GPUS; gpu++) {
    let chunk: ChunkRow[] = [];
    for (const sample of simulatedReadings(gpu, window)) {
      const { uuid: _uuid, index: _index, ...row } = sample;
      chunk.push(row);
      if (chunk.length === ROWS_PER_CHUNK) {
        chunks.push(chunk);
        chunk = [];
      }
    }
  }
  return chunks;
}

/** Best of rounds taken in turn, so that both versions meet the same moments of a busy machine. */
function measureInTurn(label: string, version1: () => void, version2: () => void): void {
  const runs = [version1, version2];
  for (const run of runs) for (let i = 0; i < 300; i++) run(); // let the JIT settle
  const best = [Infinity, Infinity];
  for (let round = 0; round < 15; round++) {
    runs.forEach((run, v) => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < 200; i++) run();
      best[v] = Math.min(best[v], Number(process.hrtime.bigint() - start) / 1e3 / 200);
    });
  }
  console.log(`${label}: version 1 ${best[0].toFixed(0)} us, version 2 ${best[1].toFixed(0)} us per ${realistic.length}-row chunk`);
}

function bytesPerSnapshot(chunks: readonly ChunkRow[][], encode: (rows: readonly ChunkRow[]) => Uint8Array): number {
  let bytes = 0;
  let rows = 0;
  for (const chunk of chunks) {
    bytes += encode(chunk).length;
    rows += chunk.length;
  }
  return bytes / rows;
}

const realistic = realisticChunk();
const sets: [string, ChunkRow[][]][] = [
  [`simulated, ${SIMULATED_GPUS} GPUs x ${CHUNKS_PER_GPU} chunks of ${ROWS_PER_CHUNK} rows`, simulatedChunks()],
  ["real H200 capture (bench/data), one chunk", [h200Capture()]],
  ["realistic chunk (tests/helpers/realistic-chunk.ts)", [realistic]],
];
console.log(`${new Date().toISOString().slice(0, 10)}, ${machineLine()}, load average ${os.loadavg()[0].toFixed(1)}`);
console.log("bytes per snapshot, chunk data only: version 1 | version 2");
for (const [label, chunks] of sets) {
  for (const chunk of chunks) {
    const decoded = decodeChunk(encodeChunk(chunk));
    if (JSON.stringify(decoded) !== JSON.stringify(decodeChunk(encodeChunkVersion1(chunk))))
      throw new Error(`${label}: versions decode differently`);
  }
  const v1 = bytesPerSnapshot(chunks, encodeChunkVersion1);
  const v2 = bytesPerSnapshot(chunks, encodeChunk);
  console.log(`  ${label}: ${v1.toFixed(3)} | ${v2.toFixed(3)}`);
}

if (!process.argv.includes("--sizes")) {
  const v1Blob = encodeChunkVersion1(realistic);
  const v2Blob = encodeChunk(realistic);
  const chartColumns = ["temperatureC", "powerDrawW", "smClockMhz", "gpuUtilizationPct"].map((key) => METRIC_KEYS.indexOf(key as never));
  measureInTurn(
    "encode",
    () => encodeChunkVersion1(realistic),
    () => encodeChunk(realistic),
  );
  measureInTurn(
    "decode",
    () => decodeChunk(v1Blob),
    () => decodeChunk(v2Blob),
  );
  measureInTurn(
    "decode 4 columns",
    () => decodeChunkColumns(v1Blob, chartColumns),
    () => decodeChunkColumns(v2Blob, chartColumns),
  );
}

if (process.argv.includes("--levels")) {
  const blob = encodeChunkVersion1(realistic);
  const payload = inflateRawSync(blob.subarray(1));
  for (const level of [1, 3, 6, 9]) {
    const bytesPerRow = (deflateRawSync(payload, { level }).length + 1) / realistic.length;
    measure(`deflate level ${level} (${bytesPerRow.toFixed(2)} bytes/row)`, realistic.length, () => deflateRawSync(payload, { level }));
  }
}
