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
import { readFileSync } from "node:fs";
import os from "node:os";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeChunk, decodeChunkColumns, encodeChunk, encodeChunkVersion1, type ChunkRow } from "../src/server/storage/chunk-codec";
import { METRIC_KEYS } from "../src/telemetry/types";
import { simulatedReadings } from "../scripts/lib/generate-history";
import { realisticChunk } from "../tests/helpers/realistic-chunk";
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

/** bench/data's capture: nvidia-smi CSV with units, the field order of the fixtures README. */
function h200Capture(): ChunkRow[] {
  const lines = readFileSync(new URL("data/h200-idle-load-1hz.csv", import.meta.url), "utf8")
    .split("\n")
    .slice(1);
  const number = (field: string) => {
    const value = Number.parseFloat(field);
    return Number.isNaN(value) ? null : value;
  };
  return lines
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const f = line.split(",").map((field) => field.trim());
      const [date, time] = f[3].split(" ");
      const [year, month, day] = date.split("/").map(Number);
      const [hours, minutes, seconds] = time.split(":").map(Number);
      return {
        timestamp: Date.UTC(year, month - 1, day, hours, minutes, 0) + Math.round(seconds * 1000),
        temperatureC: number(f[4]),
        memoryTemperatureC: number(f[5]),
        fanSpeedPct: number(f[6]),
        powerDrawW: number(f[7]),
        powerLimitW: number(f[10]),
        graphicsClockMhz: number(f[11]),
        smClockMhz: number(f[12]),
        memoryClockMhz: number(f[13]),
        videoClockMhz: number(f[14]),
        baseClockMhz: number(f[18]),
        maxGraphicsClockMhz: number(f[15]),
        maxMemoryClockMhz: number(f[16]),
        clockEventReasons: Number.parseInt(f[19], 16),
        gpuUtilizationPct: number(f[22]),
        memoryUtilizationPct: number(f[23]),
        memoryUsedMib: number(f[24]),
        memoryTotalMib: number(f[25]),
        pstate: Number(f[27].replace("P", "")),
      };
    });
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
