/** Per-chunk statistics that storage keeps beside the blob, so range stats never decode it. */
import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../sources/types";
import { rowsToColumns, type ChunkRow } from "./chunk-columns";

export interface MetricSummary {
  /** null when the metric has no value in the chunk. */
  min: number | null;
  max: number | null;
  /** Summed as integers scaled to the metric's decimals, so free of float drift; 0 when count is 0. */
  sum: number;
  /** Rows where the metric is not null. */
  count: number;
}

export interface ChunkSummary {
  rowCount: number;
  /** Of the first and last rows; null for an empty chunk. */
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  /** Differ from first/last when the clock stepped back inside the chunk. */
  minTimestamp: number | null;
  maxTimestamp: number | null;
  metrics: Record<MetricKey, MetricSummary>;
}

export function chunkSummary(rows: readonly ChunkRow[]): ChunkSummary {
  const rowCount = rows.length;
  let minTimestamp = Infinity;
  let maxTimestamp = -Infinity;
  for (let i = 0; i < rowCount; i++) {
    const timestamp = rows[i].timestamp;
    if (timestamp < minTimestamp) minTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
  }

  const table = rowsToColumns(rows);
  const metrics = {} as Record<MetricKey, MetricSummary>;
  for (let column = 0; column < METRIC_KEYS.length; column++) {
    const key = METRIC_KEYS[column];
    metrics[key] = summarizeColumn(table, column * rowCount, rowCount, 10 ** METRIC_DECIMALS[key]);
  }

  const empty = rowCount === 0;
  return {
    rowCount,
    firstTimestamp: empty ? null : rows[0].timestamp,
    lastTimestamp: empty ? null : rows[rowCount - 1].timestamp,
    minTimestamp: empty ? null : minTimestamp,
    maxTimestamp: empty ? null : maxTimestamp,
    metrics,
  };
}

/** Works on the values as stored (scaled and rounded to the metric's decimals), so it matches a decode. */
function summarizeColumn(table: Float64Array, start: number, rowCount: number, scale: number): MetricSummary {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  for (let i = start; i < start + rowCount; i++) {
    const value = table[i];
    if (value !== value) continue; // NaN: null
    const scaled = Math.round(value * scale);
    if (scaled < min) min = scaled;
    if (scaled > max) max = scaled;
    sum += scaled;
    count++;
  }
  if (count === 0) return { min: null, max: null, sum: 0, count };
  return { min: min / scale, max: max / scale, sum: sum / scale, count };
}
