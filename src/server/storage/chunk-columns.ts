/**
 * Moves chunk rows to and from a column-major table: one Float64Array holding every metric
 * column back to back (column c, in METRIC_KEYS order, starts at c * rowCount), NaN for null.
 *
 * Every key is spelled out, in code written from the catalogue (../per-metric-code.ts): reading
 * `row[key]` with a varying key, allocating one typed array per column, and assigning row keys in
 * a loop were each measurably the slow part of the codec.
 */
import { METRIC_KEYS, type GpuMetrics } from "../../telemetry/types";
import { compileFunction, perMetric } from "../per-metric-code";
import { MAX_VARINT_MAGNITUDE } from "./varint";

export type ChunkRow = { timestamp: number } & GpuMetrics;

export const METRIC_COLUMN_COUNT = METRIC_KEYS.length;

/**
 * Metric columns in every stored chunk and summary: the catalogue as format version 1 was
 * born. Metrics appended since are missing from data written before them, which then ends
 * after its last column; fewer than these means damage.
 */
export const VERSION_1_COLUMN_COUNT = 18;

let scratch = new Float64Array(METRIC_COLUMN_COUNT * 1024);

/**
 * A table for `rowCount` rows, shared by every caller: valid only until the next call, which
 * is safe because the codec uses it synchronously and never across an await.
 */
export function columnScratch(rowCount: number): Float64Array {
  const needed = METRIC_COLUMN_COUNT * rowCount;
  if (scratch.length < needed) scratch = new Float64Array(needed);
  return scratch;
}

/** Metric values of `rows` as a column table (see columnScratch for its lifetime). */
export function rowsToColumns(rows: readonly ChunkRow[]): Float64Array {
  return fillColumns(rows, columnScratch(rows.length));
}

const fillColumns = compileFunction<(rows: readonly ChunkRow[], table: Float64Array) => Float64Array>(
  "fillColumns",
  ["rows", "table"],
  `const rowCount = rows.length;
${perMetric((metric, column) => `const ${metric.key} = ${column} * rowCount;`)}
for (let i = 0; i < rowCount; i++) {
  const row = rows[i];
${perMetric((metric) => `  table[${metric.key} + i] = row.${metric.key} ?? NaN;`)}
}
return table;`,
);

function valueOrNull(value: number): number | null {
  return value !== value ? null : value;
}

/** Rebuilds rows; each is one object literal, so all share a shape and cost one allocation. */
export const columnsToRows = compileFunction<(timestamps: readonly number[], table: Float64Array) => ChunkRow[]>(
  "columnsToRows",
  ["timestamps", "table"],
  `const rowCount = timestamps.length;
${perMetric((metric, column) => `const ${metric.key} = ${column} * rowCount;`)}
const rows = new Array(rowCount);
for (let i = 0; i < rowCount; i++) {
  rows[i] = {
    timestamp: timestamps[i],
${perMetric((metric) => `    ${metric.key}: valueOrNull(table[${metric.key} + i]),`)}
  };
}
return rows;`,
  { valueOrNull },
);

/** What scaleColumn found: how many values are present, the first, whether all are equal, the largest magnitude. */
export interface ScaledColumn {
  presentCount: number;
  firstValue: number;
  allEqual: boolean;
  maxMagnitude: number;
}

/**
 * Scales `table[start, start + rowCount)` in place to the integers stored (value * scale,
 * rounded; NaN stays null) and describes them, as every chunk format writes a column. Throws
 * RangeError naming the row and metric for a value that is infinite or beyond ±2^53 once scaled.
 */
export function scaleColumn(table: Float64Array, start: number, rowCount: number, key: string, scale: number): ScaledColumn {
  const end = start + rowCount;
  let presentCount = 0;
  let firstValue = NaN;
  let allEqual = true;
  let maxMagnitude = 0;
  for (let i = start; i < end; i++) {
    const raw = table[i];
    if (raw !== raw) continue; // NaN: null
    const value = Math.round(raw * scale);
    if (!(Math.abs(value) <= MAX_VARINT_MAGNITUDE)) {
      throw new RangeError(`chunk row ${i - start}: ${key} = ${raw} is not a finite value within ±2^53`);
    }
    table[i] = value;
    if (presentCount === 0) firstValue = value;
    else if (value !== firstValue) allEqual = false;
    const magnitude = value < 0 ? -value : value;
    if (magnitude > maxMagnitude) maxMagnitude = magnitude;
    presentCount++;
  }
  return { presentCount, firstValue, allEqual, maxMagnitude };
}
