import type { ClockEventReason } from "../../telemetry/clock-event-reasons";
import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../../telemetry/types";
import type { ChunkRow } from "./chunk-columns";
import type { ChunkColumns } from "./decoded-columns";
import { addEntries, addReasons, addValue, emptySummary, mergeEncodedSummary, SUMMARIZED_REASONS, SUMMARY_FIELDS } from "./metric-summary";
import { DecodedPeriods, readPeriods } from "./period-summaries";
import { BUCKET_EMPTY, BUCKET_READ, BUCKET_UNKNOWN, SeriesBucketCache, type SealedBuckets } from "./series-bucket-cache";
import type { StoredSummary } from "./summary-stream";
import { columnsOf, ScaledValues } from "../../telemetry/wire-columns";
import { ExactColumns } from "./exact-columns";

const FIELDS = SUMMARY_FIELDS;
const EMPTY_SUMMARY = emptySummary();
const MASK_COLUMN = METRIC_KEYS.indexOf("clockEventReasons");
/** The summary entries of the reasons: after every metric. */
const REASON_ENTRIES = SUMMARIZED_REASONS.map((_, r) => METRIC_KEYS.length + r);

/** Digits after the point of a bucket's average, and of a clock event reason's share of its samples. */
const AVG_DECIMALS = 2;
const SHARE_DECIMALS = 4;
/**
 * What a series works in, kept from one to the next (series run one at a time, start to end in
 * one turn): a chart's table of buckets is some 140 KB outside the JavaScript heap, and freed only
 * by a full collection, tables made anew for every chart piled up to tens of megabytes between
 * two. Tables past KEPT_TABLE_VALUES (thousands of points, or every metric) are made for the series alone.
 */
const COLUMNS = new ExactColumns();
const PERIODS = new DecodedPeriods();
const KEPT_TABLE_VALUES = 64 * 1024;
/** A zeroed array of `size` values: a view of the kept one when it is small enough. */
class ReusedArray<T extends Float64Array | Int32Array | Uint8Array> {
  private kept: T | null = null;

  constructor(private readonly make: (size: number) => T) {}

  zeroed(size: number): T {
    if (size > KEPT_TABLE_VALUES) return this.make(size);
    this.kept ??= this.make(KEPT_TABLE_VALUES);
    return this.kept.subarray(0, size).fill(0) as T;
  }
}

const TABLES = new ReusedArray((size) => new Float64Array(size));
const TOUCHED = new ReusedArray((size) => new Uint8Array(size));
const OFFSETS = new ReusedArray((size) => new Int32Array(size));

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
  /** Chunk columns decoded for samples (catalogue indexes, ascending): the asked metrics, and the reasons' mask when asked. */
  readonly columns: number[];
  /** Where the mask is among `columns`, -1 when the reasons were not asked for. */
  private readonly maskColumn: number;
  /** Values per bucket: its row count, then count/min/max/sum (scaled integers) of each entry. */
  private readonly stride: number;
  /**
   * Every bucket of the range back to back, `stride` values each, bucket i starting at
   * (firstIndex + i) * bucketMs: one allocation however many buckets, and no map to look them up in.
   */
  private readonly table: Float64Array;
  /** Which buckets were added to: those are answered, even should one hold no samples. */
  private readonly touched: Uint8Array;
  private readonly firstIndex: number;
  private readonly whole = emptySummary();
  /** Where each summary's periods are read to, kept from one summary and one series to the next. */
  private readonly periods = PERIODS;
  private readonly asked: Float64Array;

  /**
   * Buckets `bucketMs` wide, epoch-aligned, covering [from, to]; or with `single`, one bucket
   * starting at `from` that holds the whole range.
   */
  constructor(
    private readonly metrics: readonly MetricKey[],
    private readonly clockReasons: boolean,
    private readonly range: { from: number; to: number; bucketMs: number; single: boolean },
  ) {
    this.indexes = [...new Set(metrics.map((metric) => METRIC_KEYS.indexOf(metric)))].sort((a, b) => a - b);
    this.keys = this.indexes.map((m) => METRIC_KEYS[m]);
    this.scales = this.keys.map((key) => 10 ** METRIC_DECIMALS[key]);
    this.entries = clockReasons ? [...this.indexes, ...REASON_ENTRIES] : this.indexes;
    this.columns = clockReasons ? [...new Set([...this.indexes, MASK_COLUMN])].sort((a, b) => a - b) : this.indexes;
    this.maskColumn = clockReasons ? this.columns.indexOf(MASK_COLUMN) : -1;
    this.asked = new Float64Array(this.entries.length * FIELDS);
    this.stride = 1 + this.entries.length * FIELDS;
    this.firstIndex = range.single ? 0 : Math.floor(range.from / range.bucketMs);
    const bucketCount = range.single ? 1 : Math.floor(range.to / range.bucketMs) - this.firstIndex + 1;
    this.table = TABLES.zeroed(bucketCount * this.stride);
    for (let at = 0; at < this.table.length; at += this.stride) {
      for (let to = at + 1; to < at + this.stride; to += FIELDS) {
        this.table[to + 1] = Infinity;
        this.table[to + 2] = -Infinity;
      }
    }
    this.touched = TOUCHED.zeroed(bucketCount);
  }

  /** See PieceSink.summary: false when `split` is asked of a summary that has no periods. */
  addSummary(summary: StoredSummary, split: boolean): boolean {
    const periods = this.periods;
    if (readPeriods(summary.bytes, this.entries, periods, summary.from, summary.end)) {
      const { count, starts, rowCounts, stats, stride } = periods;
      for (let i = 0; i < count; i++) this.add(starts[i], rowCounts[i], stats, i * stride);
      return true;
    }
    if (split) return false;
    this.whole.set(EMPTY_SUMMARY);
    mergeEncodedSummary(this.whole, summary.bytes.subarray(summary.from, summary.end));
    for (const [k, m] of this.entries.entries()) this.asked.set(this.whole.subarray(m * FIELDS, (m + 1) * FIELDS), k * FIELDS);
    this.add(summary.start, summary.rowCount, this.asked, 0);
    return true;
  }

  addRow(row: ChunkRow): void {
    const bucket = this.bucketAt(row.timestamp);
    const table = this.table;
    table[bucket]++;
    for (let k = 0, at = bucket + 1; k < this.keys.length; k++, at += FIELDS) {
      const value = row[this.keys[k]];
      if (value !== null) addValue(table, at, Math.round(value * this.scales[k]));
    }
    if (this.clockReasons && row.clockEventReasons !== null)
      addReasons(table, bucket + 1 + this.keys.length * FIELDS, row.clockEventReasons);
  }

  /** A chunk's samples within [from, to], from its timestamps and the columns asked for only (`columns`, in that order). */
  addEncodedRows({ rowCount, timestamps, table }: ChunkColumns, from: number, to: number): void {
    const metrics = this.keys.length;
    const reasonsAt = 1 + metrics * FIELDS;
    // Where each asked metric's column is in the decoded table (the mask may sit among them).
    const cells = this.indexes.map((m) => this.columns.indexOf(m) * rowCount);
    const buckets = this.table;
    // Runs of consecutive rows in one bucket (rows come in time order, so a bucket's rows are
    // one run), then each column summed run by run in locals: a bucket is written once a run
    // and metric, not once a sample.
    const runs = this.runsOf(timestamps, rowCount, from, to);
    for (let k = 0; k < metrics; k++) {
      const column = cells[k];
      for (let r = 0; r < runs.length; r += 3) {
        const first = runs[r];
        const end = runs[r + 1];
        const at = runs[r + 2] + 1 + k * FIELDS;
        let count = 0;
        let min = Infinity;
        let max = -Infinity;
        let sum = 0;
        for (let i = column + first; i < column + end; i++) {
          const scaled = table[i];
          if (scaled !== scaled) continue; // NaN: null
          count++;
          if (scaled < min) min = scaled;
          if (scaled > max) max = scaled;
          sum += scaled;
        }
        if (count === 0) continue;
        buckets[at] += count;
        if (min < buckets[at + 1]) buckets[at + 1] = min;
        if (max > buckets[at + 2]) buckets[at + 2] = max;
        buckets[at + 3] += sum;
      }
    }
    for (let r = 0; r < runs.length; r += 3) {
      const first = runs[r];
      const end = runs[r + 1];
      const bucket = runs[r + 2];
      buckets[bucket] += end - first;
      if (this.maskColumn < 0) continue;
      for (let i = first; i < end; i++) {
        const mask = table[this.maskColumn * rowCount + i];
        if (mask === mask) addReasons(buckets, bucket + reasonsAt, mask);
      }
    }
  }

  /**
   * The rows of [from, to] as runs of consecutive rows in one bucket: first row, the row after
   * the last, and where the bucket starts in the table, three numbers a run.
   */
  private runsOf(timestamps: ArrayLike<number>, rowCount: number, from: number, to: number): number[] {
    const { bucketMs, single } = this.range;
    const runs: number[] = [];
    let bucketFrom = Infinity;
    let bucketEnd = -Infinity;
    for (let i = 0; i < rowCount; i++) {
      const timestamp = timestamps[i];
      if (timestamp < from || timestamp > to) continue;
      const last = runs.length - 3;
      if (last >= 0 && runs[last + 1] === i && timestamp >= bucketFrom && timestamp < bucketEnd) {
        runs[last + 1] = i + 1;
        continue;
      }
      runs.push(i, i + 1, this.bucketAt(timestamp));
      bucketFrom = single ? -Infinity : Math.floor(timestamp / bucketMs) * bucketMs;
      bucketEnd = single ? Infinity : bucketFrom + bucketMs;
    }
    return runs;
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
    const { table, stride } = this;
    /** Where each answered bucket starts in the table: the first `n` of them. */
    const offsets = OFFSETS.zeroed(this.touched.length);
    let n = 0;
    for (let i = 0; i < this.touched.length; i++) if (this.touched[i] !== 0) offsets[n++] = i * stride;
    const columns = COLUMNS;
    for (let b = 0; b < n; b++)
      columns.set(b, this.range.single ? this.range.from : (this.firstIndex + offsets[b] / stride) * this.range.bucketMs);
    const t = columns.take(n) as number[];
    for (let b = 0; b < n; b++) columns.set(b, table[offsets[b]]);
    const count = columns.take(n) as number[];
    const metrics: Partial<Record<MetricKey, MetricSeries>> = {};
    for (const metric of this.metrics) {
      const k = this.keys.indexOf(metric);
      const [at, scale] = [1 + k * FIELDS, this.scales[k]];
      // Integers JSON writes as they are (wire-columns.ts): min and max of the metric's own decimals, as the table holds them.
      for (let b = 0; b < n; b++) columns.set(b, table[offsets[b] + at] ? table[offsets[b] + at + 1] : null);
      const min = new ScaledValues(METRIC_DECIMALS[metric], columns.take(n));
      for (let b = 0; b < n; b++) columns.set(b, table[offsets[b] + at] ? table[offsets[b] + at + 2] : null);
      const max = new ScaledValues(METRIC_DECIMALS[metric], columns.take(n));
      for (let b = 0; b < n; b++) {
        const cell = offsets[b] + at;
        columns.set(b, table[cell] ? Math.round((table[cell + 3] / table[cell] / scale) * 10 ** AVG_DECIMALS) : null);
      }
      const avg = new ScaledValues(AVG_DECIMALS, columns.take(n));
      metrics[metric] = columnsOf({ min, max, avg });
    }
    const series = { t, count, metrics };
    if (!this.clockReasons) return series;
    const reasonsAt = 1 + this.keys.length * FIELDS;
    const shares = SUMMARIZED_REASONS.map((reason, r) => {
      const at = reasonsAt + r * FIELDS;
      for (let b = 0; b < n; b++) {
        const cell = offsets[b] + at;
        columns.set(b, table[cell] > 0 ? Math.round((table[cell + 3] / table[cell]) * 10 ** SHARE_DECIMALS) : null);
      }
      return [reason, new ScaledValues(SHARE_DECIMALS, columns.take(n))] as const;
    });
    const clockReasons = columnsOf(Object.fromEntries(shares) as Record<ClockEventReason, ScaledValues>);
    return { ...series, clockReasons };
  }

  /** Where buckets of this width and these metrics are kept for `gpuIds` (series-bucket-cache.ts). */
  cacheKey(gpuIds: readonly number[]): string {
    return SeriesBucketCache.keyOf(gpuIds, this.range.bucketMs, this.entries);
  }

  /**
   * Sets the buckets `first` to `last` (indexes of the epoch: start / bucketMs) that `kept` knows
   * to what it holds for them. Those buckets must not have been added to.
   */
  restore(kept: SealedBuckets, first: number, last: number): void {
    const { stride, table, touched } = this;
    const from = Math.max(first, kept.firstIndex);
    const to = Math.min(last, kept.firstIndex + kept.states.length - 1);
    // Runs of known buckets, each copied at once.
    for (let index = from; index <= to;) {
      if (kept.states[index - kept.firstIndex] === BUCKET_UNKNOWN) {
        index++;
        continue;
      }
      let end = index;
      while (end < to && kept.states[end + 1 - kept.firstIndex] !== BUCKET_UNKNOWN) end++;
      const keptAt = (index - kept.firstIndex) * stride;
      table.set(kept.values.subarray(keptAt, keptAt + (end - index + 1) * stride), (index - this.firstIndex) * stride);
      for (let i = index; i <= end; i++) if (kept.states[i - kept.firstIndex] === BUCKET_READ) touched[i - this.firstIndex] = 1;
      index = end + 1;
    }
  }

  /**
   * The buckets `first` to `last` (indexes of the epoch) as they are now, to keep: written over
   * `reuse` (restored from already) when it has room for as many buckets, so a range that moved on
   * by a bucket costs no new arrays; into new arrays otherwise.
   */
  keep(first: number, last: number, reuse?: SealedBuckets): SealedBuckets {
    const count = last - first + 1;
    const kept: SealedBuckets =
      reuse !== undefined && reuse.states.length === count
        ? reuse
        : { firstIndex: first, values: new Float64Array(count * this.stride), states: new Uint8Array(count) };
    kept.firstIndex = first;
    const offset = first - this.firstIndex;
    kept.values.set(this.table.subarray(offset * this.stride, (offset + count) * this.stride));
    for (let i = 0; i < count; i++) kept.states[i] = this.touched[offset + i] ? BUCKET_READ : BUCKET_EMPTY;
    return kept;
  }

  /** Adds `rowCount` samples with `stats[first..]` (count/min/max/sum per entry) to the bucket `at` falls in. */
  private add(at: number, rowCount: number, stats: Float64Array, first: number): void {
    const bucket = this.bucketAt(at);
    this.table[bucket] += rowCount;
    addEntries(this.table, bucket + 1, stats, first, this.entries.length);
  }

  /** Where the bucket `at` falls in starts in the table, marked as answered. */
  private bucketAt(at: number): number {
    const index = this.range.single ? 0 : Math.floor(at / this.range.bucketMs) - this.firstIndex;
    if (!(index >= 0 && index < this.touched.length))
      throw new RangeError(
        `series bucket for ${at} is outside ${this.range.from}..${this.range.to}: storage read a piece outside the range`,
      );
    this.touched[index] = 1;
    return index * this.stride;
  }
}
