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
