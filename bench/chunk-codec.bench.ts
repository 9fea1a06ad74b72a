/**
 * Throughput and size of the chunk codec on one realistic 600-row, 1 Hz chunk (the same data
 * tests/chunk-codec.test.ts sizes): an idle plateau replayed from the H200 capture, then a load phase.
 *   npx tsx bench/chunk-codec.bench.ts            encode/decode speed and bytes per row
 *   npx tsx bench/chunk-codec.bench.ts --levels   also size and speed of each deflate level
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeChunk, encodeChunk, type ChunkRow } from "../src/server/storage/chunk-codec";
import { fixtureLines } from "../tests/helpers/fixtures";

function numberOrNull(field: string): number | null {
  const value = Number(field);
  return field === "" || Number.isNaN(value) ? null : value;
}

/** `YYYY/MM/DD HH:MM:SS.mmm`, read as UTC: only the spacing between rows matters here. */
function parseSmiTimestamp(field: string): number {
  const [date, time] = field.split(" ");
  const [year, month, day] = date.split("/").map(Number);
  const [hours, minutes, seconds] = time.split(":").map(Number);
  return Date.UTC(year, month - 1, day, hours, minutes, 0) + Math.round(seconds * 1000);
}

/** The 1 Hz idle capture; column positions follow `<F>` in the fixtures README. */
function fixtureRows(): ChunkRow[] {
  return fixtureLines("nvidia-smi", "h200", "loop-1hz.csv").map((line) => {
    const f = line.split(",").map((field) => field.trim());
    return {
      timestamp: parseSmiTimestamp(f[3]),
      temperatureC: numberOrNull(f[4]),
      memoryTemperatureC: numberOrNull(f[5]),
      fanSpeedPct: numberOrNull(f[6]),
      powerDrawW: numberOrNull(f[7]),
      powerLimitW: numberOrNull(f[10]),
      graphicsClockMhz: numberOrNull(f[11]),
      smClockMhz: numberOrNull(f[12]),
      memoryClockMhz: numberOrNull(f[13]),
      videoClockMhz: numberOrNull(f[14]),
      baseClockMhz: numberOrNull(f[18]),
      maxGraphicsClockMhz: numberOrNull(f[15]),
      maxMemoryClockMhz: numberOrNull(f[16]),
      clockEventReasons: Number.parseInt(f[19], 16),
      gpuUtilizationPct: numberOrNull(f[22]),
      memoryUtilizationPct: numberOrNull(f[23]),
      memoryUsedMib: numberOrNull(f[24]),
      memoryTotalMib: numberOrNull(f[25]),
      pstate: Number(f[27].replace("P", "")),
    };
  });
}

/** mulberry32: deterministic noise, so sizes are stable from run to run. */
function makeRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Ten minutes at 1 Hz: five idle minutes replayed from the capture (with ±0.05 W of extra
 * power noise), then five minutes of the load the README describes: ~690 W with jitter,
 * SW power cap (0x4), clocks stepping 1440-1485 MHz, temperatures climbing to 57-58 C.
 */
function realisticChunk(rowCount = 600): ChunkRow[] {
  const random = makeRandom(20261126);
  const idle = fixtureRows();
  const rows: ChunkRow[] = [];
  let timestamp = idle[0].timestamp;
  for (let i = 0; i < rowCount; i++) {
    if (i > 0) timestamp += 1004 + Math.floor(random() * 5);
    const base = idle[i % idle.length];
    if (i < rowCount / 2) {
      const powerNoise = Math.round((random() - 0.5) * 10) / 100;
      rows.push({ ...base, timestamp, powerDrawW: round2((base.powerDrawW ?? 0) + powerNoise) });
      continue;
    }
    const warmup = Math.min(1, (i - rowCount / 2) / 40);
    const clock = 1440 + 15 * Math.floor(random() * 4);
    rows.push({
      ...base,
      timestamp,
      temperatureC: Math.round(33 + 24 * warmup) + (random() < 0.3 ? 1 : 0),
      memoryTemperatureC: Math.round(35 + 11 * warmup) + Math.floor(random() * 3),
      powerDrawW: round2(684 + random() * 12),
      graphicsClockMhz: clock,
      smClockMhz: clock,
      clockEventReasons: 0x4,
      gpuUtilizationPct: random() < 0.9 ? 100 : 99,
      memoryUtilizationPct: 52 + Math.floor(random() * 6),
      memoryUsedMib: 81234,
    });
  }
  return rows;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Best of several rounds: the least disturbed by other work on the machine. */
function measure(label: string, rowsPerRun: number, run: () => void): void {
  for (let i = 0; i < 300; i++) run(); // let the JIT settle
  const runsPerRound = 500;
  let bestSeconds = Infinity;
  for (let round = 0; round < 7; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < runsPerRound; i++) run();
    bestSeconds = Math.min(bestSeconds, Number(process.hrtime.bigint() - start) / 1e9 / runsPerRound);
  }
  const rowsPerSecond = Math.round(rowsPerRun / bestSeconds).toLocaleString("en-US");
  console.log(`${label}: ${rowsPerSecond} rows/s (${(bestSeconds * 1e6).toFixed(0)} us per chunk)`);
}

const rows = realisticChunk();
const blob = encodeChunk(rows);
console.log(`chunk: ${rows.length} rows -> ${blob.length} bytes = ${(blob.length / rows.length).toFixed(2)} bytes/row`);
measure("encode", rows.length, () => encodeChunk(rows));
measure("decode", rows.length, () => decodeChunk(blob));

if (process.argv.includes("--levels")) {
  const payload = inflateRawSync(blob.subarray(1));
  for (const level of [1, 3, 6, 9]) {
    const bytesPerRow = (deflateRawSync(payload, { level }).length + 1) / rows.length;
    measure(`deflate level ${level} (${bytesPerRow.toFixed(2)} bytes/row)`, rows.length, () => deflateRawSync(payload, { level }));
  }
}
