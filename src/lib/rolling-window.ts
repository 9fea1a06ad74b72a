import type { HistoryRecord, LiveSnapshot } from "./api-types";
import { CHART_METRICS, type ChartMetric } from "./metrics";

/**
 * The last few minutes of readings per GPU, kept in the browser for the live
 * charts. Trimmed against the newest reading rather than the wall clock, so a
 * replay with old timestamps still shows its last minutes.
 */

/** The live charts keep the metrics the history charts show. */
const ROLLING_METRICS = CHART_METRICS;
type RollingMetric = ChartMetric;

export type RollingPoint = { t: number } & Record<RollingMetric, number | null>;

export const ROLLING_SPAN_MS = 5 * 60_000;

type Reading = { timestamp: number } & Record<RollingMetric, number | null>;

const pointOf = (reading: Reading): RollingPoint => {
  const point = { t: reading.timestamp } as RollingPoint;
  for (const metric of ROLLING_METRICS) point[metric] = reading[metric];
  return point;
};

/** Kept by UUID: two GPUs that held the same index (a card swapped within the span) keep their own lines. */
export class RollingWindow {
  private readonly byGpu = new Map<string, RollingPoint[]>();
  /** Each GPU's index as last read, to order the lines. */
  private readonly indexOf = new Map<string, number>();
  private newest = -Infinity;

  constructor(readonly spanMs = ROLLING_SPAN_MS) {}

  add(snapshot: LiveSnapshot) {
    for (const sample of snapshot.samples) {
      this.indexOf.set(sample.uuid, sample.index);
      let points = this.byGpu.get(sample.uuid);
      if (!points) this.byGpu.set(sample.uuid, (points = []));
      // A resumed stream can repeat the tail it already delivered.
      if (points.length > 0 && points[points.length - 1].t >= sample.timestamp) continue;
      points.push(pointOf(sample));
      if (sample.timestamp > this.newest) this.newest = sample.timestamp;
    }
    this.trim();
  }

  /** Older readings from the database, so the charts are not empty on load; never overrides live ones. */
  seed(records: readonly HistoryRecord[]) {
    const older = new Map<string, RollingPoint[]>();
    for (const record of records) {
      const first = this.byGpu.get(record.gpuUuid)?.[0]?.t ?? Infinity;
      if (record.timestamp >= first) continue;
      if (!this.indexOf.has(record.gpuUuid)) this.indexOf.set(record.gpuUuid, record.gpuIndex);
      let list = older.get(record.gpuUuid);
      if (!list) older.set(record.gpuUuid, (list = []));
      list.push(pointOf(record));
      if (record.timestamp > this.newest) this.newest = record.timestamp;
    }
    for (const [uuid, list] of older) {
      list.sort((a, b) => a.t - b.t);
      const deduped = list.filter((p, i) => i === 0 || p.t !== list[i - 1].t);
      this.byGpu.set(uuid, [...deduped, ...(this.byGpu.get(uuid) ?? [])]);
    }
    this.trim();
  }

  private trim() {
    const cutoff = this.newest - this.spanMs;
    for (const [uuid, points] of this.byGpu) {
      let drop = 0;
      while (drop < points.length && points[drop].t < cutoff) drop++;
      if (drop === points.length) {
        this.byGpu.delete(uuid);
        this.indexOf.delete(uuid);
      } else if (drop > 0) points.splice(0, drop);
    }
  }

  /** The GPUs with readings in the span, by index, then UUID. */
  gpus(): Array<{ uuid: string; index: number }> {
    return [...this.byGpu.keys()]
      .map((uuid) => ({ uuid, index: this.indexOf.get(uuid)! }))
      .sort((a, b) => a.index - b.index || a.uuid.localeCompare(b.uuid));
  }

  points(uuid: string): readonly RollingPoint[] {
    return this.byGpu.get(uuid) ?? [];
  }

  /** Newest reading's time; the charts' right edge. */
  end(): number | null {
    return Number.isFinite(this.newest) ? this.newest : null;
  }
}
