import type { MetricKey } from "../sources/types";
import { toStoredSample, type StoredSample, type TelemetryStore } from "./telemetry-store";

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

/** Up to `limit` samples of the window, newest first; reads only as many chunks as it needs. */
export function newestSamples(store: TelemetryStore, window: Window, limit: number): StoredSample[] {
  const found: StoredSample[] = [];
  let kthNewest = -Infinity;
  for (const block of store.blocks({ gpuIds: gpuIdsOf(window), from: window.from, to: window.to, newestFirst: true })) {
    // Blocks come newest end first: once one ends before the limit-th newest sample found, no later block can matter.
    if (found.length >= limit && block.endTs < kthNewest) break;
    for (const row of block.rows) {
      if (row.timestamp >= window.from && row.timestamp <= window.to) found.push(toStoredSample(block.gpu, row));
    }
    if (found.length >= limit) {
      found.sort(newestFirst);
      found.length = limit;
      kthNewest = found[limit - 1].timestamp;
    }
  }
  return found.sort(newestFirst).slice(0, limit);
}

const newestFirst = (a: StoredSample, b: StoredSample) => b.timestamp - a.timestamp || a.index - b.index;

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
}

class Accumulator {
  min = Infinity;
  max = -Infinity;
  sum = 0;
  count = 0;
  add(value: number | null) {
    if (value === null) return;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.sum += value;
    this.count++;
  }
  result(decimals = 2): MinMaxAvg {
    if (this.count === 0) return { min: null, max: null, avg: null };
    return { min: this.min, max: this.max, avg: round(this.sum / this.count, decimals) };
  }
}

const round = (value: number, decimals: number) => Math.round(value * 10 ** decimals) / 10 ** decimals;

/** Count, min/max/avg of temperature and power, averages of utilization and clocks over the window. */
export function windowStats(store: TelemetryStore, window: Window): WindowStats {
  const temperature = new Accumulator();
  const power = new Accumulator();
  const utilization = new Accumulator();
  const graphics = new Accumulator();
  const memory = new Accumulator();
  let recordCount = 0;
  let first = Infinity;
  let last = -Infinity;
  for (const block of store.blocks({ gpuIds: gpuIdsOf(window), from: window.from, to: window.to })) {
    for (const row of block.rows) {
      if (row.timestamp < window.from || row.timestamp > window.to) continue;
      recordCount++;
      if (row.timestamp < first) first = row.timestamp;
      if (row.timestamp > last) last = row.timestamp;
      temperature.add(row.temperatureC);
      power.add(row.powerDrawW);
      utilization.add(row.gpuUtilizationPct);
      graphics.add(row.graphicsClockMhz);
      memory.add(row.memoryClockMhz);
    }
  }
  return {
    recordCount,
    firstTimestamp: recordCount ? first : null,
    lastTimestamp: recordCount ? last : null,
    temperature: temperature.result(),
    powerDraw: power.result(),
    utilizationAvg: utilization.result().avg,
    graphicsClockAvg: graphics.result().avg,
    memoryClockAvg: memory.result().avg,
  };
}

export interface SeriesRequest extends Window {
  metrics: readonly MetricKey[];
  maxPoints: number;
}

export interface Series {
  bucketMs: number;
  /** Start of each non-empty bucket (epoch ms), oldest first. */
  t: number[];
  /** Samples in each bucket. */
  count: number[];
  metrics: Partial<Record<MetricKey, { min: (number | null)[]; max: (number | null)[]; avg: (number | null)[] }>>;
}

/** Time-bucketed min/max/avg per metric: at most `maxPoints` buckets however long the range. */
export function bucketedSeries(store: TelemetryStore, request: SeriesRequest): Series {
  const span = Math.max(1, request.to - request.from);
  const bucketMs = Math.max(1, Math.ceil(span / request.maxPoints));
  const buckets = new Map<number, { count: number; acc: Accumulator[] }>();
  for (const block of store.blocks({ gpuIds: gpuIdsOf(request), from: request.from, to: request.to })) {
    for (const row of block.rows) {
      if (row.timestamp < request.from || row.timestamp > request.to) continue;
      const slot = Math.min(request.maxPoints - 1, Math.floor((row.timestamp - request.from) / bucketMs));
      let bucket = buckets.get(slot);
      if (!bucket) buckets.set(slot, (bucket = { count: 0, acc: request.metrics.map(() => new Accumulator()) }));
      bucket.count++;
      request.metrics.forEach((metric, i) => bucket.acc[i].add(row[metric]));
    }
  }
  const slots = [...buckets.keys()].sort((a, b) => a - b);
  const series: Series = { bucketMs, t: [], count: [], metrics: {} };
  for (const metric of request.metrics) series.metrics[metric] = { min: [], max: [], avg: [] };
  for (const slot of slots) {
    const bucket = buckets.get(slot)!;
    series.t.push(request.from + slot * bucketMs);
    series.count.push(bucket.count);
    request.metrics.forEach((metric, i) => {
      const { min, max, avg } = bucket.acc[i].result();
      const out = series.metrics[metric]!;
      out.min.push(min);
      out.max.push(max);
      out.avg.push(avg);
    });
  }
  return series;
}

/** The window's samples a block at a time, oldest block first: memory stays flat however long the range. */
export function* scanSamples(store: TelemetryStore, window: Window): Generator<StoredSample[]> {
  for (const block of store.blocks({ gpuIds: gpuIdsOf(window), from: window.from, to: window.to })) {
    const rows = block.rows
      .filter((row) => row.timestamp >= window.from && row.timestamp <= window.to)
      .sort((a, b) => a.timestamp - b.timestamp)
      .map((row) => toStoredSample(block.gpu, row));
    if (rows.length > 0) yield rows;
  }
}
