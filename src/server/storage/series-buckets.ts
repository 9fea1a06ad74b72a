import type { ClockEventReason } from "../../telemetry/clock-event-reasons";
import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../../telemetry/types";
import { decodeChunkColumns } from "./chunk-codec";
import type { ChunkRow } from "./chunk-columns";
import { addEntries, addReasons, addValue, emptySummary, mergeEncodedSummary, SUMMARIZED_REASONS, SUMMARY_FIELDS } from "./metric-summary";
import { visitPeriods } from "./period-summaries";

const FIELDS = SUMMARY_FIELDS;
const EMPTY_SUMMARY = emptySummary();
const MASK_COLUMN = METRIC_KEYS.indexOf("clockEventReasons");
/** The summary entries of the reasons: after every metric. */
const REASON_ENTRIES = SUMMARIZED_REASONS.map((_, r) => METRIC_KEYS.length + r);

type MetricSeries = { min: (number | null)[]; max: (number | null)[]; avg: (number | null)[] };

/**
 * Count/min/max/sum per time bucket of the metrics a chart asked for and of no other, and with
 * `clockReasons` how many of each bucket's samples each clock event reason held back: a day of
 * eight GPUs is some 700,000 samples or 5,760 period summaries, and adding up every metric of
 * each when the chart shows four was most of what a series cost.
 */
export class SeriesBuckets {
  /** Catalogue indexes of the asked metrics, ascending (the order summaries are read in). */
  private readonly indexes: number[];
  private readonly keys: MetricKey[];
  private readonly scales: number[];
  /** The summary entries read: the asked metrics, then the reasons when asked. */
  private readonly entries: number[];
  /** Chunk columns decoded for samples: the asked metrics, and the reasons' mask when asked. */
  private readonly columns: number[];
  /** Where the mask is among `columns`, -1 when the reasons were not asked for. */
  private readonly maskColumn: number;
  /** Per bucket start: its row count, then count/min/max/sum (scaled integers) of each entry. */
  private readonly buckets = new Map<number, Float64Array>();
  private readonly whole = emptySummary();
  private readonly asked: Float64Array;

  constructor(
    private readonly metrics: readonly MetricKey[],
    private readonly clockReasons: boolean,
    private readonly bucketOf: (at: number) => number,
  ) {
    this.indexes = [...new Set(metrics.map((metric) => METRIC_KEYS.indexOf(metric)))].sort((a, b) => a - b);
    this.keys = this.indexes.map((m) => METRIC_KEYS[m]);
    this.scales = this.keys.map((key) => 10 ** METRIC_DECIMALS[key]);
    this.entries = clockReasons ? [...this.indexes, ...REASON_ENTRIES] : this.indexes;
    this.columns = clockReasons ? [...new Set([...this.indexes, MASK_COLUMN])].sort((a, b) => a - b) : this.indexes;
    this.maskColumn = clockReasons ? this.columns.indexOf(MASK_COLUMN) : -1;
    this.asked = new Float64Array(this.entries.length * FIELDS);
  }

  /** See PieceSink.summary: false when `split` is asked of a summary that has no periods. */
  addSummary(at: number, rowCount: number, summary: Uint8Array, split: boolean): boolean {
    if (visitPeriods(summary, this.entries, (start, periodRows, stats, from) => this.add(start, periodRows, stats, from))) return true;
    if (split) return false;
    this.whole.set(EMPTY_SUMMARY);
    mergeEncodedSummary(this.whole, summary);
    for (const [k, m] of this.entries.entries()) this.asked.set(this.whole.subarray(m * FIELDS, (m + 1) * FIELDS), k * FIELDS);
    this.add(at, rowCount, this.asked, 0);
    return true;
  }

  addRow(row: ChunkRow): void {
    const bucket = this.bucket(row.timestamp);
    bucket[0]++;
    for (let k = 0, at = 1; k < this.keys.length; k++, at += FIELDS) {
      const value = row[this.keys[k]];
      if (value !== null) addValue(bucket, at, Math.round(value * this.scales[k]));
    }
    if (this.clockReasons && row.clockEventReasons !== null) addReasons(bucket, 1 + this.keys.length * FIELDS, row.clockEventReasons);
  }

  /** A chunk's samples within [from, to], decoding the timestamps and the columns asked for only. */
  addEncodedRows(data: Uint8Array, from: number, to: number): void {
    const { rowCount, timestamps, table } = decodeChunkColumns(data, this.columns);
    const metrics = this.keys.length;
    const reasonsAt = 1 + metrics * FIELDS;
    // Where each asked metric's column is in the decoded table (the mask may sit among them).
    const cells = this.indexes.map((m) => this.columns.indexOf(m) * rowCount);
    let bucket: Float64Array | null = null;
    let bucketStart = NaN;
    for (let i = 0; i < rowCount; i++) {
      const timestamp = timestamps[i];
      if (timestamp < from || timestamp > to) continue;
      // Rows come in time order, so most share the bucket of the one before.
      const start = this.bucketOf(timestamp);
      if (start !== bucketStart || bucket === null) [bucket, bucketStart] = [this.bucket(timestamp), start];
      bucket[0]++;
      for (let k = 0, at = 1; k < metrics; k++, at += FIELDS) {
        const scaled = table[cells[k] + i];
        if (scaled === scaled) addValue(bucket, at, scaled); // NaN: null
      }
      if (this.maskColumn >= 0) {
        const mask = table[this.maskColumn * rowCount + i];
        if (mask === mask) addReasons(bucket, reasonsAt, mask);
      }
    }
  }

  /**
   * Non-empty buckets oldest first: each asked metric's min/max/avg unscaled (avg to two
   * decimals) and, when asked, each clock event reason's share of the bucket's samples.
   */
  series(): {
    t: number[];
    count: number[];
    metrics: Partial<Record<MetricKey, MetricSeries>>;
    clockReasons?: Record<ClockEventReason, (number | null)[]>;
  } {
    const starts = [...this.buckets.keys()].sort((a, b) => a - b);
    const buckets = starts.map((start) => this.buckets.get(start)!);
    const metrics: Partial<Record<MetricKey, MetricSeries>> = {};
    for (const metric of this.metrics) {
      const k = this.keys.indexOf(metric);
      const [at, scale] = [1 + k * FIELDS, this.scales[k]];
      const out: MetricSeries = { min: [], max: [], avg: [] };
      for (const bucket of buckets) {
        const present = bucket[at];
        out.min.push(present ? bucket[at + 1] / scale : null);
        out.max.push(present ? bucket[at + 2] / scale : null);
        out.avg.push(present ? Math.round((bucket[at + 3] / present / scale) * 100) / 100 : null);
      }
      metrics[metric] = out;
    }
    const series = { t: starts, count: buckets.map((bucket) => bucket[0]), metrics };
    if (!this.clockReasons) return series;
    const reasonsAt = 1 + this.keys.length * FIELDS;
    const clockReasons = Object.fromEntries(
      SUMMARIZED_REASONS.map((reason, r) => {
        const at = reasonsAt + r * FIELDS;
        return [reason, buckets.map((bucket) => (bucket[at] > 0 ? Math.round((bucket[at + 3] / bucket[at]) * 10_000) / 10_000 : null))];
      }),
    ) as Record<ClockEventReason, (number | null)[]>;
    return { ...series, clockReasons };
  }

  /** Adds `rowCount` samples with `stats[first..]` (count/min/max/sum per entry) to the bucket `at` falls in. */
  private add(at: number, rowCount: number, stats: Float64Array, first: number): void {
    const bucket = this.bucket(at);
    bucket[0] += rowCount;
    addEntries(bucket, 1, stats, first, this.entries.length);
  }

  private bucket(at: number): Float64Array {
    const start = this.bucketOf(at);
    let bucket = this.buckets.get(start);
    if (!bucket) {
      bucket = new Float64Array(1 + this.entries.length * FIELDS);
      for (let to = 1; to < bucket.length; to += FIELDS) {
        bucket[to + 1] = Infinity;
        bucket[to + 2] = -Infinity;
      }
      this.buckets.set(start, bucket);
    }
    return bucket;
  }
}
