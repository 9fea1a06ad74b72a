/**
 * Size and speed of the chunk codec, format version 1 (varint columns + raw deflate) beside
 * version 2 (predicted columns, range-coded), in one run:
 *   npx tsx bench/chunk-codec.bench.ts            sizes, then encode/decode speed of both
 *   npx tsx bench/chunk-codec.bench.ts --sizes    sizes only
 *   npx tsx bench/chunk-codec.bench.ts --levels   also size and speed of each deflate level (version 1)
 *   npx tsx bench/chunk-codec.bench.ts --before COMMIT
 *                                                 version 2 as COMMIT wrote it (default: the commit
 *                                                 before its encoder was made faster), timed beside
 *                                                 this tree's, and the bytes of both compared
 * Sizes: 8 simulated H200s (scripts/lib/generate-history.ts) cut into 600-row chunks; the real
 * H200 capture in bench/data as the one chunk bench/run.ts makes of it; the realistic 600-row
 * chunk the tests size. Speed on the realistic chunk.
 *
 * Version 2 is a stored format: a faster encoder must write the very same bytes. Every run
 * encodes the chunks above, the storage fixtures' rows and 2,000 chunks of every shape
 * (bench/lib/varied-chunks.ts) with this tree and with `--before`, and stops at the first blob
 * that differs, or a chunk one build refuses and the other takes; it also decodes every blob with
 * both, whole and by columns.
 */
import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeChunk, decodeChunkColumns, encodeChunk, encodeChunkVersion1, type ChunkRow } from "../src/server/storage/chunk-codec";
import { decodeChunkColumnsV2, decodeChunkV2, encodeChunkV2 } from "../src/server/storage/chunk-codec-v2";
import { METRIC_KEYS } from "../src/telemetry/types";
import { CODEC_BEFORE_SPEEDUP, codecAtCommit, type CodecV2Module } from "./lib/codec-at-commit";
import { variedChunks } from "./lib/varied-chunks";
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

const { values: options } = parseArgs({
  options: {
    sizes: { type: "boolean", default: false },
    levels: { type: "boolean", default: false },
    before: { type: "string", default: CODEC_BEFORE_SPEEDUP },
  },
});

/**
 * Best of rounds taken in turn, so that every version meets the same moments of a busy machine,
 * each round timed in CPU time (this process runs one thread): on a shared machine, wall time
 * also counts the moments others held the core.
 */
function measureInTurn(label: string, version1: () => void, before: () => void, now: () => void, chunksPerCall = 1): void {
  const runs = [version1, before, now];
  for (const run of runs) for (let i = 0; i < 300; i++) run(); // let the JIT settle
  const best = runs.map(() => Infinity);
  for (let round = 0; round < 15; round++) {
    runs.forEach((run, v) => {
      const start = process.cpuUsage();
      for (let i = 0; i < 200; i++) run();
      const used = process.cpuUsage(start);
      best[v] = Math.min(best[v], (used.user + used.system) / 200 / chunksPerCall);
    });
  }
  console.log(
    `${label}: version 1 ${best[0].toFixed(0)} us, version 2 at ${options.before} ${best[1].toFixed(0)} us, ` +
      `version 2 now ${best[2].toFixed(0)} us per 600-row chunk (${(best[1] / best[2]).toFixed(2)}x)`,
  );
}

/** What encoding gives: the blob, or the error's message for a chunk the codec refuses. */
function encodedOrError(encode: (rows: readonly ChunkRow[]) => Uint8Array, rows: readonly ChunkRow[]): Uint8Array | string {
  try {
    return encode(rows);
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
}

function storageFixtureChunks(): ChunkRow[][] {
  const dir = new URL("../tests/fixtures/storage/", import.meta.url);
  return fs
    .readdirSync(dir)
    .filter((name) => /^chunk-v2-.*\.json$/.test(name))
    .map((name) => (JSON.parse(fs.readFileSync(new URL(name, dir), "utf8")) as { rows: ChunkRow[] }).rows);
}

/** Throws at the first chunk whose blob, or whose decoding, differs between `before` and this tree. */
function checkSameBytes(before: CodecV2Module, label: string, chunks: readonly ChunkRow[][]): number {
  const someColumns = [[0], [METRIC_KEYS.indexOf("smClockMhz"), 0], [METRIC_KEYS.length - 1, METRIC_KEYS.indexOf("powerDrawW"), 3]];
  let blobs = 0;
  chunks.forEach((rows, c) => {
    const then = encodedOrError(before.encodeChunkV2, rows);
    const now = encodedOrError(encodeChunkV2, rows);
    if (typeof then === "string" || typeof now === "string") {
      if (then !== now) throw new Error(`${label}, chunk ${c}: ${options.before} gives ${String(then)}, this tree ${String(now)}`);
      return;
    }
    if (Buffer.compare(then, now) !== 0) throw new Error(`${label}, chunk ${c}: the blobs differ (${then.length} and ${now.length} bytes)`);
    if (JSON.stringify(before.decodeChunkV2(now)) !== JSON.stringify(decodeChunkV2(now))) {
      throw new Error(`${label}, chunk ${c}: the builds decode the blob differently`);
    }
    for (const columns of someColumns) {
      const a = before.decodeChunkColumnsV2(now, columns);
      const b = decodeChunkColumnsV2(now, columns);
      if (
        Buffer.compare(
          Buffer.from(a.table.buffer, 0, a.rowCount * columns.length * 8),
          Buffer.from(b.table.buffer, 0, b.rowCount * columns.length * 8),
        ) !== 0
      ) {
        throw new Error(`${label}, chunk ${c}: the builds decode columns ${columns.join(",")} differently`);
      }
    }
    blobs++;
  });
  return blobs;
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
const before = await codecAtCommit(options.before);
console.log(`${new Date().toISOString().slice(0, 10)}, ${machineLine()}, load average ${os.loadavg()[0].toFixed(1)}`);
{
  const checked = [
    ...sets,
    ["storage fixtures (tests/fixtures/storage)", storageFixtureChunks()] as [string, ChunkRow[][]],
    ["varied chunks", variedChunks(2000)] as [string, ChunkRow[][]],
  ];
  let blobs = 0;
  let chunkCount = 0;
  for (const [label, chunks] of checked) {
    blobs += checkSameBytes(before, label, chunks);
    chunkCount += chunks.length;
  }
  console.log(
    `version 2 at ${options.before} and now: the same bytes for ${blobs} blobs (${chunkCount - blobs} chunks refused alike by both)`,
  );
}
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

if (!options.sizes) {
  const v1Blob = encodeChunkVersion1(realistic);
  const v2Blob = encodeChunk(realistic);
  const chartColumns = ["temperatureC", "powerDrawW", "smClockMhz", "gpuUtilizationPct"].map((key) => METRIC_KEYS.indexOf(key as never));
  measureInTurn(
    "encode",
    () => encodeChunkVersion1(realistic),
    () => before.encodeChunkV2(realistic),
    () => encodeChunk(realistic),
  );
  // The import's chunks: simulated H200s, busier than the realistic chunk's idle half.
  const simulated = sets[0][1].slice(0, 8);
  measureInTurn(
    "encode, 8 simulated chunks",
    () => simulated.forEach((chunk) => encodeChunkVersion1(chunk)),
    () => simulated.forEach((chunk) => before.encodeChunkV2(chunk)),
    () => simulated.forEach((chunk) => encodeChunk(chunk)),
    simulated.length,
  );
  measureInTurn(
    "decode",
    () => decodeChunk(v1Blob),
    () => before.decodeChunkV2(v2Blob),
    () => decodeChunk(v2Blob),
  );
  measureInTurn(
    "decode 4 columns",
    () => decodeChunkColumns(v1Blob, chartColumns),
    () => before.decodeChunkColumnsV2(v2Blob, chartColumns),
    () => decodeChunkColumns(v2Blob, chartColumns),
  );
}

if (options.levels) {
  const blob = encodeChunkVersion1(realistic);
  const payload = inflateRawSync(blob.subarray(1));
  for (const level of [1, 3, 6, 9]) {
    const bytesPerRow = (deflateRawSync(payload, { level }).length + 1) / realistic.length;
    measure(`deflate level ${level} (${bytesPerRow.toFixed(2)} bytes/row)`, realistic.length, () => deflateRawSync(payload, { level }));
  }
}
