/**
 * A realistic chunk of H200 samples, shared by the codec's tests and its benchmark:
 * the real 1 Hz idle capture, then a load phase shaped on the fixtures README.
 */
import type { ChunkRow } from "../../src/server/storage/chunk-codec";
import { fixtureLines } from "./fixtures";

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
export function fixtureRows(): ChunkRow[] {
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
export function realisticChunk(rowCount = 600): ChunkRow[] {
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

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
