import type { MetricKey } from "../../telemetry/types";
import type { ChunkRow } from "./chunk-columns";
import { mergeNewest, type GpuRow } from "./newest-rows";
import type { ClockEventReason } from "../../telemetry/clock-event-reasons";
import { addRow, emptySummary, metricStats, reasonShares } from "./metric-summary";
import { mergeStoredSummary } from "./period-summaries";
import { SeriesBuckets } from "./series-buckets";
import { BUCKET_UNKNOWN } from "./series-bucket-cache";
import { SummaryStreamReader, type StoredSummary } from "./summary-stream";
import { slotStart, SUMMARY_PERIOD_MS } from "./time-slots";
import { DAY_MS, HOUR_MS, namedSample, type NamedSample, type SampleBlock, type TelemetryStore } from "./telemetry-store";

/**
 * Read-side questions asked of the store: newest samples, window statistics,
 * chart series and a streaming scan for export. Pure functions over a store.
 */

export interface Window {
  /** Restrict to this GPU; all GPUs when undefined. */
  gpuId?: number;
  from: number;
  to: number;
}

const gpuIdsOf = (window: Window) => (window.gpuId === undefined ? undefined : [window.gpuId]);

/** Up to `limit` rows of the window with their GPU, newest first; reads only the blocks it needs. */
export function newestRows(store: TelemetryStore, window: Window, limit: number): GpuRow[] {
  const blocks = store.blocks({ gpuIds: gpuIdsOf(window), from: window.from, to: window.to, newestFirst: true });
  return mergeNewest(blocks, { from: window.from, to: window.to, limit, slotMs: store.options.slotMs });
}

export interface MinMaxAvg {
  min: number | null;
  max: number | null;
  avg: number | null;
}

export interface WindowStats {
  recordCount: number;
  firstTimestamp: number | null;
  lastTimestamp: number | null;
  temperature: MinMaxAvg;
  powerDraw: MinMaxAvg;
  utilizationAvg: number | null;
  graphicsClockAvg: number | null;
  memoryClockAvg: number | null;
  /** Each clock event reason's share (0-1) of the samples that reported a mask; null where none did. */
  clockReasons: Record<ClockEventReason, number | null>;
}

interface PieceSink {
  /**
   * A stored summary of `rowCount` samples inside the bucket that its start falls in, or, with
   * `split`, of a chunk whose periods may fall in different buckets. Returns false when it
   * cannot be split that finely (a chunk summary written before periods were kept): the
   * chunk's samples are then read instead. `summary` is valid during the call.
   */
  summary(summary: StoredSummary, split: boolean): boolean;
  /** One sample that had to be decoded. */
  row(row: ChunkRow): void;
  /** When given, sealed samples not already decoded come here encoded, whole chunks, to decode as much of as it needs. */
  encodedRows?(chunk: { id: number; data: Uint8Array }, from: number, to: number): void;
}

/**
 * Reads [from, to] in the cheapest pieces that never straddle a `granularityMs`
 * boundary: daily and hourly rollups for whole days and hours, chunk summaries (whole,
 * or period by period) for whole slots, decoded samples for the partial slots at the
 * edges and for unsealed rows. Sealed chunks, rollups and open rows are disjoint, so
 * nothing counts twice.
 */
function readPieces(store: TelemetryStore, gpuIds: number[], from: number, to: number, granularityMs: number, sink: PieceSink) {
  readOpenRows(store, gpuIds, from, to, sink);
  readSealedPieces(store, gpuIds, from, to, granularityMs, sink);
}

/** The rows of [from, to] not yet sealed into a chunk. */
function readOpenRows(store: TelemetryStore, gpuIds: number[], from: number, to: number, sink: PieceSink) {
  rowsOf(store.openBlocks(gpuIds), from, to, sink);
}

function rowsOf(blocks: Iterable<SampleBlock>, from: number, to: number, sink: PieceSink) {
  for (const block of blocks) {
    for (const row of block.rows) if (row.timestamp >= from && row.timestamp <= to) sink.row(row);
  }
}

/** The sealed part of readPieces. */
function readSealedPieces(store: TelemetryStore, gpuIds: number[], from: number, to: number, granularityMs: number, sink: PieceSink) {
  const slot = store.options.slotMs;
  const rawBlocks = (blocks: Iterable<SampleBlock>) => rowsOf(blocks, from, to, sink);
  /** Sealed samples of the chunks whose slot starts in [a, b), as rows or, where the sink takes them, encoded. */
  const rawChunks = (a: number, b: number) => {
    if (!sink.encodedRows) return rawBlocks(store.chunksStartingIn(gpuIds, a, b));
    for (const content of store.chunkContentsStartingIn(gpuIds, a, b)) {
      if ("data" in content) sink.encodedRows(content, from, to);
      else for (const row of content.rows) if (row.timestamp >= from && row.timestamp <= to) sink.row(row);
    }
  };
  const first = Math.ceil(from / slot) * slot;
  const end = Math.floor((to + 1) / slot) * slot;
  const slotsFit = granularityMs === Infinity || granularityMs % slot === 0;
  const periodsFit = granularityMs % SUMMARY_PERIOD_MS === 0 && slot % SUMMARY_PERIOD_MS === 0;
  if (!(slotsFit || periodsFit) || first >= end) {
    // A chunk never leaves its slot, so those overlapping the range start in a slot that does.
    rawChunks(slotStart(from, slot), to + 1);
    return;
  }
  if (from < first) rawChunks(first - slot, first);
  rawChunks(end, to + 1);

  // Whole periods inside [first, end): days within hours within slots, each tier used
  // only where the bucket width is a whole number of its periods.
  const [firstHour, endHour] = wholePeriods(first, end, HOUR_MS, granularityMs);
  const [firstDay, endDay] = wholePeriods(firstHour, endHour, DAY_MS, granularityMs);
  for (const [a, b] of [
    [first, firstHour],
    [endHour, end],
  ]) {
    for (const chunk = new SummaryStreamReader(store.chunkSummaryStream(gpuIds, a, b)); chunk.next();) {
      if (!sink.summary(chunk, !slotsFit)) for (const row of store.chunkRows(chunk.id)) sink.row(row);
    }
  }
  for (const [a, b] of [
    [firstHour, firstDay],
    [endDay, endHour],
  ]) {
    for (const hour = new SummaryStreamReader(store.hourlyRollupStream(gpuIds, a, b)); hour.next();) sink.summary(hour, false);
  }
  for (const day = new SummaryStreamReader(store.dailyRollupStream(gpuIds, firstDay, endDay)); day.next();) sink.summary(day, false);
}

/** The run of whole `periodMs` periods inside [from, to), or an empty run at `to` when none fits or the width forbids it. */
function wholePeriods(from: number, to: number, periodMs: number, granularityMs: number): [number, number] {
  const fits = granularityMs === Infinity || granularityMs % periodMs === 0;
  const first = Math.ceil(from / periodMs) * periodMs;
  const end = Math.floor(to / periodMs) * periodMs;
  return fits && first < end ? [first, end] : [to, to];
}

/** Count, min/max/avg of temperature and power, averages of utilization and clocks over the window. */
export function windowStats(store: TelemetryStore, window: Window): WindowStats {
  const gpuIds = store.resolveGpuIds(gpuIdsOf(window));
  const total = emptySummary();
  let recordCount = 0;
  let first = Infinity;
  let last = -Infinity;
  readPieces(store, gpuIds, window.from, window.to, Infinity, {
    summary({ rowCount, bytes, from, end }) {
      recordCount += rowCount;
      mergeStoredSummary(total, bytes, from, end);
      return true;
    },
    row(row) {
      recordCount++;
      addRow(total, row);
      if (row.timestamp < first) first = row.timestamp;
      if (row.timestamp > last) last = row.timestamp;
    },
  });
  const slot = store.options.slotMs;
  const sealed = store.sealedExtent(gpuIds, Math.ceil(window.from / slot) * slot, Math.floor((window.to + 1) / slot) * slot - 1);
  if (sealed) {
    first = Math.min(first, sealed.first);
    last = Math.max(last, sealed.last);
  }
  const stat = (metric: MetricKey): MinMaxAvg => {
    const { min, max, avg } = metricStats(total, metric);
    return { min, max, avg };
  };
  return {
    recordCount,
    firstTimestamp: recordCount ? first : null,
    lastTimestamp: recordCount ? last : null,
    temperature: stat("temperatureC"),
    powerDraw: stat("powerDrawW"),
    utilizationAvg: stat("gpuUtilizationPct").avg,
    graphicsClockAvg: stat("graphicsClockMhz").avg,
    memoryClockAvg: stat("memoryClockMhz").avg,
    clockReasons: reasonShares(total),
  };
}

export interface SeriesRequest extends Window {
  metrics: readonly MetricKey[];
  maxPoints: number;
  /** Also each clock event reason's share of each bucket's samples. */
  clockReasons?: boolean;
  /** The longest range answered from its samples one by one (see bucketWidth). */
  maxRawSpanMs?: number;
}

export interface Series {
  bucketMs: number;
  /** Start of each non-empty bucket (epoch ms, a multiple of bucketMs; `from` when maxPoints is 1), oldest first. */
  t: number[];
  /** Samples in each bucket. */
  count: number[];
  metrics: Partial<Record<MetricKey, { min: (number | null)[]; max: (number | null)[]; avg: (number | null)[] }>>;
  /** With `clockReasons`: per reason, its share (0-1) of each bucket's samples that reported a mask; null where none did. */
  clockReasons?: Record<ClockEventReason, (number | null)[]>;
}

/**
 * The bucket width for a range: wide enough for at most `maxPoints` epoch-aligned
 * buckets, and rounded up to whole summary periods (from half a period on), slots or hours (from
 * half an hour on), so
 * ranges are answered from summaries instead of samples. A range longer than
 * `maxRawSpanMs` gets whole periods however many points it may have.
 */
export function bucketWidth(span: number, maxPoints: number, slotMs: number, maxRawSpanMs = Infinity): number {
  const width = Math.max(1, Math.ceil(span / Math.max(1, maxPoints - 1)));
  // Past half an hour, whole hours: a month in 50-minute buckets read 4,320 chunk summaries per
  // GPU (about 25 ms), in hours 720 hourly rollups.
  if (width > HOUR_MS / 2) return Math.ceil(width / HOUR_MS) * HOUR_MS;
  if (width > slotMs) return Math.ceil(width / slotMs) * slotMs;
  // Narrower buckets over a range this long would decode every sample in it, for seconds on end.
  if (width > SUMMARY_PERIOD_MS / 2 || span > maxRawSpanMs) return Math.ceil(width / SUMMARY_PERIOD_MS) * SUMMARY_PERIOD_MS;
  return width;
}

/** Time-bucketed min/max/avg per metric: at most `maxPoints` buckets however long the range. */
export function bucketedSeries(store: TelemetryStore, request: SeriesRequest): Series {
  const gpuIds = store.resolveGpuIds(gpuIdsOf(request));
  // One point cannot be epoch-aligned and still cover any range: it is the whole range.
  const single = request.maxPoints === 1;
  const bucketMs = single
    ? request.to - request.from + 1
    : bucketWidth(request.to - request.from, request.maxPoints, store.options.slotMs, request.maxRawSpanMs);
  const buckets = new SeriesBuckets(request.metrics, request.clockReasons ?? false, {
    from: request.from,
    to: request.to,
    bucketMs,
    single,
  });
  const sink: PieceSink = {
    summary: (summary, split) => buckets.addSummary(summary, split),
    row: (row) => buckets.addRow(row),
    encodedRows: (chunk, from, to) => buckets.addEncodedRows(store.decodedColumns.decode(chunk.id, chunk.data, buckets.columns), from, to),
  };
  if (single) readPieces(store, gpuIds, request.from, request.to, Infinity, sink);
  else readBuckets(store, gpuIds, request, bucketMs, buckets, sink);
  return { bucketMs, ...buckets.series() };
}

/**
 * Fills `buckets` with [from, to]: the buckets wholly inside it from what the store keeps of
 * their sealed samples (series-bucket-cache.ts) where it has them, the rest from storage (and
 * kept in turn); then the unsealed rows, never kept, over all of them.
 */
function readBuckets(store: TelemetryStore, gpuIds: number[], range: Window, bucketMs: number, buckets: SeriesBuckets, sink: PieceSink) {
  const { from, to } = range;
  const sealed = (a: number, b: number) => readSealedPieces(store, gpuIds, a, b, bucketMs, sink);
  // Indexes (start / bucketMs) of the first and last bucket inside [from, to]; the partial ones at
  // either end depend on the range and are read every time.
  const first = Math.ceil(from / bucketMs);
  const last = Math.floor((to + 1) / bucketMs) - 1;
  if (first > last) {
    sealed(from, to);
  } else {
    const cache = store.sealedBuckets;
    const key = buckets.cacheKey(gpuIds);
    const kept = cache.get(key);
    const known = (index: number) =>
      kept !== undefined &&
      index >= kept.firstIndex &&
      index < kept.firstIndex + kept.states.length &&
      kept.states[index - kept.firstIndex] !== BUCKET_UNKNOWN;
    // What to read from storage: the partial buckets at the ends and the buckets not kept,
    // adjoining ones read as one range (each range costs a few statements).
    const reads: Array<[number, number]> = [];
    const read = (a: number, b: number) => {
      const previous = reads[reads.length - 1];
      if (previous !== undefined && previous[1] + 1 === a) previous[1] = b;
      else reads.push([a, b]);
    };
    if (from < first * bucketMs) read(from, first * bucketMs - 1);
    for (let index = first; index <= last; index++) if (!known(index)) read(index * bucketMs, (index + 1) * bucketMs - 1);
    if ((last + 1) * bucketMs <= to) read((last + 1) * bucketMs, to);
    for (const [a, b] of reads) sealed(a, b);
    if (kept) buckets.restore(kept, first, last);
    cache.set(key, gpuIds, bucketMs, buckets.keep(first, last, kept));
  }
  readOpenRows(store, gpuIds, from, to, sink);
}

/**
 * The window's samples oldest first (ties by GPU index), in batches of at most
 * `batchSize`: memory stays flat however long the range. Each GPU's blocks are
 * one sorted stream; the streams are merged. All are started before the first
 * batch, so they read the store as of one instant (see TelemetryStore.blocks),
 * and the caller may pause between batches without holding the database.
 */
export function* scanSamples(store: TelemetryStore, window: Window, batchSize = 1000): Generator<NamedSample[]> {
  const gpuIds = window.gpuId === undefined ? store.gpus().map((g) => g.id) : [window.gpuId];
  const streams = gpuIds.map((gpuId) => samplesOf(store, { ...window, gpuId }));
  const heads = streams.map((stream) => stream.next());
  let batch: NamedSample[] = [];
  for (;;) {
    let pick = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head.done) continue;
      const best = pick < 0 ? null : (heads[pick] as IteratorYieldResult<NamedSample>).value;
      if (!best || oldestFirst(head.value, best) < 0) pick = i;
    }
    if (pick < 0) break;
    batch.push((heads[pick] as IteratorYieldResult<NamedSample>).value);
    heads[pick] = streams[pick].next();
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

const oldestFirst = (a: NamedSample, b: NamedSample) => a.timestamp - b.timestamp || a.gpuIndex - b.gpuIndex;

/** One GPU's samples of the window, oldest first: its blocks do not overlap in time. */
function* samplesOf(store: TelemetryStore, window: Window): Generator<NamedSample, void, undefined> {
  for (const block of store.blocks({ gpuIds: gpuIdsOf(window), from: window.from, to: window.to })) {
    const rows = block.rows
      .filter((row) => row.timestamp >= window.from && row.timestamp <= window.to)
      .sort((a, b) => a.timestamp - b.timestamp);
    for (const row of rows) yield namedSample(block.gpu, row);
  }
}
