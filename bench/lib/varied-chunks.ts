/**
 * Chunks of every shape the codec must handle, drawn from a seeded generator: row counts from
 * 0 to 700; timestamps on a jittered grid, slowing down, repeating or jumping back; each column
 * all null, constant (with or without nulls), a random walk, noise around levels that jump with
 * the power draw, a copy of the graphics clock, or values near ±2^53; nulls alone, in runs or
 * everywhere. For checking that two builds of the codec write the same bytes.
 */
import type { ChunkRow } from "../../src/server/storage/chunk-codec";
import { METRIC_DECIMALS, METRIC_KEYS, noMetrics, type MetricKey } from "../../src/telemetry/types";

/** mulberry32: a small generator whose sequence depends only on the seed. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const ROW_COUNTS = [0, 1, 2, 3, 5, 40, 599, 600, 601, 700];

export function variedChunks(count: number, seed = 15): ChunkRow[][] {
  const random = generator(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const chunks: ChunkRow[][] = [];
  for (let c = 0; c < count; c++) {
    const rowCount = c < ROW_COUNTS.length ? ROW_COUNTS[c] : random() < 0.2 ? pick(ROW_COUNTS) : 1 + Math.floor(random() * 700);
    const timestamps = timestampsOf(rowCount, random, pick);
    const rows: ChunkRow[] = timestamps.map((timestamp) => ({ timestamp, ...noMetrics() }));
    // Phases: the power draw and the levels of other columns jump together at these rows.
    const phaseAt = Array.from({ length: rowCount }, () => random() < 0.02);
    for (const key of METRIC_KEYS) fillColumn(rows, key, phaseAt, random, pick);
    chunks.push(rows);
  }
  return chunks;
}

function timestampsOf(rowCount: number, random: () => number, pick: <T>(items: readonly T[]) => T): number[] {
  const kind = pick(["grid", "grid", "jitter", "slowing", "repeats", "backwards", "huge"] as const);
  const step = pick([1000, 1000, 250, 5000, 1]);
  let at = kind === "huge" ? 2 ** 50 - 10 * step * rowCount : 1_780_000_000_000 + Math.floor(random() * 1e9);
  if (kind === "huge" && random() < 0.5) at = -at;
  const out: number[] = [];
  for (let i = 0; i < rowCount; i++) {
    out.push(at);
    if (kind === "grid" || kind === "huge") at += step;
    else if (kind === "jitter") at += step + Math.floor(random() * 40) - 5;
    else if (kind === "slowing") at += step + 10 * i;
    else if (kind === "repeats") at += random() < 0.3 ? 0 : step;
    else at += random() < 0.1 ? -Math.floor(random() * 5 * step) : step;
  }
  return out;
}

function fillColumn(
  rows: ChunkRow[],
  key: MetricKey,
  phaseAt: readonly boolean[],
  random: () => number,
  pick: <T>(items: readonly T[]) => T,
): void {
  const scale = 10 ** METRIC_DECIMALS[key];
  const shape = pick(["null", "constant", "walk", "walk", "levels", "levels", "levels", "copy", "huge", "negative"] as const);
  const nulls = pick(["none", "none", "none", "few", "runs", "most"] as const);
  let level = Math.floor(random() * 2000 * scale);
  let value = level;
  let nullRun = 0;
  const noise = pick([0, 1, 2, 5, 30, 1000]);
  for (let i = 0; i < rows.length; i++) {
    if (phaseAt[i]) level = Math.floor(random() * 2000 * scale);
    let scaled: number | null;
    if (shape === "null") scaled = null;
    else if (shape === "constant") scaled = level;
    else if (shape === "walk") scaled = value += Math.round((random() - 0.5) * 2 * noise);
    else if (shape === "levels") scaled = level + Math.round((random() - 0.5) * 2 * noise);
    else if (shape === "copy") {
      const graphics = rows[i].graphicsClockMhz;
      scaled = graphics === null || random() < 0.05 ? level : graphics * scale + (random() < 0.1 ? 15 : 0);
    } else if (shape === "huge") {
      // Whole-number metrics reach 2^53; one divided by its scale stays exact below 2^40.
      const top = scale === 1 ? 2 ** 53 - 1 : 2 ** 40;
      scaled = (top - Math.floor(random() * 1e6)) * (random() < 0.2 ? -1 : 1);
    } else scaled = -level + Math.round(random() * noise);
    if (nulls === "few" && random() < 0.03) scaled = null;
    if (nulls === "runs") {
      if (nullRun === 0 && random() < 0.02) nullRun = 1 + Math.floor(random() * 50);
      if (nullRun > 0) {
        nullRun--;
        scaled = null;
      }
    }
    if (nulls === "most" && random() < 0.9) scaled = null;
    rows[i][key] = scaled === null ? null : scaled / scale;
  }
}
