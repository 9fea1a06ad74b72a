import { CLOCK_EVENT_REASON_BITS, type ClockEventReason } from "../../telemetry/clock-event-reasons";
import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../../telemetry/types";
import { VERSION_1_COLUMN_COUNT, type ChunkRow } from "./chunk-columns";
import { ByteReader } from "./varint";

/**
 * count/min/max/sum of every metric over a set of samples, kept beside each chunk
 * and per hour and day so range statistics and long charts never decode raw samples.
 * Values are held as integers scaled to each metric's decimals, so merging
 * summaries gives exactly what summing the raw samples gives. After the metrics come
 * the clock event reasons, each as a 0/1 value per sample that reported a mask: its sum
 * is how many samples had the reason holding the clocks back.
 */

const METRICS = METRIC_KEYS.length;
const SCALE = METRIC_KEYS.map((k) => 10 ** METRIC_DECIMALS[k]);
/** count, min, max, sum per entry. */
export const SUMMARY_FIELDS = 4;
const FIELDS = SUMMARY_FIELDS;

/**
 * The reasons summaries count, in their stored order: append only (docs/storage-format.md).
 * Entry METRIC_KEYS.length + i of a summary is SUMMARIZED_REASONS[i].
 */
export const SUMMARIZED_REASONS: readonly ClockEventReason[] = [
  "idle",
  "applicationsClocksSetting",
  "swPowerCap",
  "hwSlowdown",
  "syncBoost",
  "swThermalSlowdown",
  "hwThermalSlowdown",
  "hwPowerBrakeSlowdown",
  "displayClockSetting",
];
const REASON_BITS = SUMMARIZED_REASONS.map((reason) => CLOCK_EVENT_REASON_BITS[reason]);
/** Metrics, then reasons. */
export const SUMMARY_ENTRIES = METRICS + REASON_BITS.length;
const REASONS_AT = METRICS * FIELDS;

/** Flat [count, min, max, sum] per metric in METRIC_KEYS order, then per reason, scaled integers. */
export type MetricSummary = Float64Array;

export function emptySummary(): MetricSummary {
  const summary = new Float64Array(SUMMARY_ENTRIES * FIELDS);
  for (let at = 0; at < summary.length; at += FIELDS) {
    summary[at + 1] = Infinity;
    summary[at + 2] = -Infinity;
  }
  return summary;
}

export function addRow(summary: MetricSummary, row: ChunkRow): void {
  for (let m = 0; m < METRICS; m++) {
    const value = row[METRIC_KEYS[m]];
    if (value === null) continue;
    addValue(summary, m * FIELDS, Math.round(value * SCALE[m]));
  }
  if (row.clockEventReasons !== null) addReasons(summary, REASONS_AT, row.clockEventReasons);
}

/** Counts one sample's clock event reasons into the reason entries starting at `at` of `summary`. */
export function addReasons(summary: Float64Array, at: number, mask: number): void {
  // A mask wider than the 31 bits bitwise operators keep whole is tested by division.
  const narrow = mask >= 0 && mask <= 0x7fffffff;
  for (let r = 0; r < REASON_BITS.length; r++, at += FIELDS) {
    addValue(summary, at, narrow ? ((mask & REASON_BITS[r]) === 0 ? 0 : 1) : Math.floor(mask / REASON_BITS[r]) % 2);
  }
}

/** Counts one value (a scaled integer) into the entry at `at` of a summary or any table laid out like one. */
export function addValue(summary: Float64Array, at: number, value: number): void {
  summary[at]++;
  if (value < summary[at + 1]) summary[at + 1] = value;
  if (value > summary[at + 2]) summary[at + 2] = value;
  summary[at + 3] += value;
}

/** Each reason's share of the samples with a mask, 0 to 1 to four decimals; null where none had one. */
export function reasonShares(summary: Float64Array, at = REASONS_AT): Record<ClockEventReason, number | null> {
  return Object.fromEntries(
    SUMMARIZED_REASONS.map((reason, r) => {
      const count = summary[at + r * FIELDS];
      return [reason, count > 0 ? Math.round((summary[at + r * FIELDS + 3] / count) * 10_000) / 10_000 : null];
    }),
  ) as Record<ClockEventReason, number | null>;
}

/** Adds one decoded summary into another. */
export function addSummary(into: MetricSummary, from: MetricSummary): void {
  addEntries(into, 0, from, 0, SUMMARY_ENTRIES);
}

/** Adds `entries` count/min/max/sum entries of `from`, starting at `fromAt`, into those of `into` starting at `intoAt`. */
export function addEntries(into: Float64Array, intoAt: number, from: Float64Array, fromAt: number, entries: number): void {
  for (let i = 0; i < entries * FIELDS; i += FIELDS) {
    const to = intoAt + i;
    const at = fromAt + i;
    into[to] += from[at];
    if (from[at + 1] < into[to + 1]) into[to + 1] = from[at + 1];
    if (from[at + 2] > into[to + 2]) into[to + 2] = from[at + 2];
    into[to + 3] += from[at + 3];
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

// Format version 1 (docs/storage-format.md), written by earlier builds for chunks and rollups and
// still read: a format version byte, then per metric, in catalogue order, a count varint; when
// above zero, min and max as signed varints and the sum as a signed varint, or as a float64 when
// it outgrew exact integers (only a summed bitmask can). Summaries are written in version 2
// now (period-summaries.ts).
export const SUM_IS_FLOAT = 1;

/**
 * Byte 0 of every version 1 summary. Summaries written before it existed had the same layout
 * without it; the migration `summary_format_version` put a 1 in front of each of them.
 */
export const SUMMARY_FORMAT_VERSION = 1;

/**
 * Adds a version 1 summary into `into` straight from its bytes: long ranges merge
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
