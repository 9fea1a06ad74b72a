import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../../telemetry/types";
import { VERSION_1_COLUMN_COUNT, type ChunkRow } from "./chunk-columns";
import { ByteReader, ByteWriter, MAX_VARINT_MAGNITUDE } from "./varint";

/**
 * count/min/max/sum of every metric over a set of samples, kept beside each chunk
 * and per hour so range statistics and long charts never decode raw samples.
 * Values are held as integers scaled to each metric's decimals, so merging
 * summaries gives exactly what summing the raw samples gives.
 */

const METRICS = METRIC_KEYS.length;
const SCALE = METRIC_KEYS.map((k) => 10 ** METRIC_DECIMALS[k]);
/** count, min, max, sum per metric. */
export const SUMMARY_FIELDS = 4;
const FIELDS = SUMMARY_FIELDS;

/** Flat [count, min, max, sum] per metric in METRIC_KEYS order, scaled integers. */
export type MetricSummary = Float64Array;

export function emptySummary(): MetricSummary {
  const summary = new Float64Array(METRICS * FIELDS);
  for (let m = 0; m < METRICS; m++) {
    summary[m * FIELDS + 1] = Infinity;
    summary[m * FIELDS + 2] = -Infinity;
  }
  return summary;
}

export function addRow(summary: MetricSummary, row: ChunkRow): void {
  for (let m = 0; m < METRICS; m++) {
    const value = row[METRIC_KEYS[m]];
    if (value === null) continue;
    const scaled = Math.round(value * SCALE[m]);
    const at = m * FIELDS;
    summary[at]++;
    if (scaled < summary[at + 1]) summary[at + 1] = scaled;
    if (scaled > summary[at + 2]) summary[at + 2] = scaled;
    summary[at + 3] += scaled;
  }
}

/** Adds one decoded summary into another. */
export function addSummary(into: MetricSummary, from: MetricSummary): void {
  for (let at = 0; at < METRICS * FIELDS; at += FIELDS) {
    into[at] += from[at];
    if (from[at + 1] < into[at + 1]) into[at + 1] = from[at + 1];
    if (from[at + 2] > into[at + 2]) into[at + 2] = from[at + 2];
    into[at + 3] += from[at + 3];
  }
}

export function summarizeRows(rows: readonly ChunkRow[]): MetricSummary {
  const summary = emptySummary();
  for (const row of rows) addRow(summary, row);
  return summary;
}

export interface MetricStats {
  count: number;
  min: number | null;
  max: number | null;
  /** Mean of the exact integer sum, rounded to two decimals. */
  avg: number | null;
}

export function metricStats(summary: MetricSummary, metric: MetricKey): MetricStats {
  const m = METRIC_KEYS.indexOf(metric);
  const at = m * FIELDS;
  const count = summary[at];
  if (count === 0) return { count: 0, min: null, max: null, avg: null };
  const scale = SCALE[m];
  return {
    count,
    min: summary[at + 1] / scale,
    max: summary[at + 2] / scale,
    avg: Math.round((summary[at + 3] / count / scale) * 100) / 100,
  };
}

// Stored form (docs/storage-format.md): a format version byte, then per metric, in catalogue order,
// a count varint; when above zero, min and max as signed varints and the sum as a signed varint,
// or as a float64 when it outgrew exact integers (only a summed bitmask can). A constant column
// costs three bytes.
const SUM_IS_FLOAT = 1;

/**
 * Byte 0 of every stored summary. Summaries written before it existed had the same layout
 * without it; the migration `summary_format_version` put a 1 in front of each of them.
 */
export const SUMMARY_FORMAT_VERSION = 1;

export function encodeSummary(summary: MetricSummary): Buffer {
  const out = new ByteWriter(256);
  out.writeByte(SUMMARY_FORMAT_VERSION);
  for (let at = 0; at < METRICS * FIELDS; at += FIELDS) {
    const count = summary[at];
    out.writeUnsigned(count);
    if (count === 0) continue;
    out.writeSigned(summary[at + 1]);
    out.writeSigned(summary[at + 2]);
    const sum = summary[at + 3];
    if (Math.abs(sum) < MAX_VARINT_MAGNITUDE && Number.isInteger(sum)) {
      out.writeByte(0);
      out.writeSigned(sum);
    } else {
      out.writeByte(SUM_IS_FLOAT);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, sum, true);
      for (const b of bytes) out.writeByte(b);
    }
  }
  return Buffer.from(out.view());
}

/**
 * Adds a stored summary into `into` straight from its bytes: long ranges merge
 * thousands of hourly rollups, and a decoded copy of each would be garbage.
 */
export function mergeEncodedSummary(into: MetricSummary, blob: Uint8Array): void {
  if (blob[0] !== SUMMARY_FORMAT_VERSION) {
    throw new Error(`unsupported metric summary format version ${blob[0]} (this build reads version ${SUMMARY_FORMAT_VERSION})`);
  }
  const input = new ByteReader(blob.subarray(1));
  for (let at = 0; at < METRICS * FIELDS; at += FIELDS) {
    // Written before the metrics from here on were appended to the catalogue: none of them counted.
    if (at >= VERSION_1_COLUMN_COUNT * FIELDS && input.remaining === 0) break;
    const count = input.readUnsigned();
    if (count === 0) continue;
    const min = input.readSigned();
    const max = input.readSigned();
    const sum = input.readByte() === SUM_IS_FLOAT ? readFloat64(input.readBytes(8)) : input.readSigned();
    into[at] += count;
    if (min < into[at + 1]) into[at + 1] = min;
    if (max > into[at + 2]) into[at + 2] = max;
    into[at + 3] += sum;
  }
  if (input.overran) throw new Error("corrupt metric summary");
}

/**
 * Little-endian, as written. Read through a view of the bytes themselves: SQLite hands out
 * Buffers, whose `slice()` shares (not copies) a pooled ArrayBuffer that starts elsewhere.
 */
function readFloat64(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
}
