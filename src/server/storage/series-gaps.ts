import type { StoredGpuEvent } from "./gpu-events";
import { nullsOf } from "../../telemetry/wire-columns";

/**
 * Where a bucketed series has no samples for longer than a few sample intervals,
 * and why, when the event log knows: the recorder was stopped (from its stop to
 * its next start), or the GPU was lost or stopped reporting (until it was back).
 */

export const GAP_REASONS = ["recorder_stopped", "gpu_lost", "gpu_stale"] as const;
export type GapReason = (typeof GAP_REASONS)[number];

export interface SeriesGap {
  /** The end of the last bucket with samples before the gap (epoch ms). */
  from: number;
  /** The start of the first bucket with samples after it. */
  to: number;
  /** null: nothing in the event log explains it. */
  reason: GapReason | null;
}

/** A span the event log says nothing could be recorded in. */
export interface Outage {
  from: number;
  to: number;
  reason: GapReason;
}

/** Fewer missing intervals than this are jitter in the sampling, not a gap. */
const MISSED_INTERVALS = 3;

/** The event kinds that open or close an outage. */
export const OUTAGE_EVENT_KINDS = ["recorder_started", "gpu_lost", "gpu_stale", "gpu_back"] as const;

/**
 * The recorder's downtimes (every GPU's) and this GPU's lost or silent spans, from
 * events in any order. An outage still open at the newest event runs to `until`.
 */
export function outagesOf(events: readonly Pick<StoredGpuEvent, "at" | "kind" | "detail" | "gpuId">[], until: number): Outage[] {
  const outages: Outage[] = [];
  let open: { from: number; reason: GapReason } | null = null;
  for (const event of [...events].sort((a, b) => a.at - b.at)) {
    if (event.kind === "recorder_started") {
      const stoppedAt = event.detail.previousStopAt;
      if (typeof stoppedAt === "number") outages.push({ from: stoppedAt, to: event.at, reason: "recorder_stopped" });
      // A new run starts from a reporting GPU: whatever was lost before is closed at the last run's end.
      if (open !== null) outages.push({ from: open.from, to: typeof stoppedAt === "number" ? stoppedAt : event.at, reason: open.reason });
      open = null;
    } else if (event.kind === "gpu_lost" || event.kind === "gpu_stale") {
      open ??= { from: event.at, reason: event.kind };
    } else if (event.kind === "gpu_back" && open !== null) {
      outages.push({ from: open.from, to: event.at, reason: open.reason });
      open = null;
    }
  }
  if (open !== null) outages.push({ from: open.from, to: until, reason: open.reason });
  return outages;
}

/** What of a bucketed series the gaps are found in. */
export interface BucketedValues {
  /** The starts of the buckets that hold samples, oldest first. */
  t: readonly number[];
  bucketMs: number;
  metrics: Partial<Record<string, { min: readonly (number | null)[] }>>;
}

/**
 * The stretches between buckets with a value of any metric (a lost GPU's readings are
 * stored without values), each with the reason of the outage that covers most of it.
 */
export function seriesGaps(series: BucketedValues, intervalMs: number, outages: readonly Outage[]): SeriesGap[] {
  const { t, bucketMs } = series;
  // A bucket's min is null exactly where its avg is, and its nulls are those of the integers the
  // answer holds (wire-columns.ts): no column of values is made to find them.
  const columns: Array<readonly (number | null)[]> = [];
  for (const key of Object.keys(series.metrics)) {
    const values = series.metrics[key];
    if (values) columns.push(nullsOf(values, "min"));
  }
  const minEmptyMs = Math.max(bucketMs, MISSED_INTERVALS * intervalMs);
  const gaps: SeriesGap[] = [];
  let lastEnd: number | null = null;
  for (let i = 0; i < t.length; i++) {
    if (!anyValueAt(columns, i)) continue;
    if (lastEnd !== null && t[i] - lastEnd > minEmptyMs)
      gaps.push({ from: lastEnd, to: t[i], reason: likeliestReason(lastEnd, t[i], outages) });
    lastEnd = t[i] + bucketMs;
  }
  return gaps;
}

/** A loop, not `columns.some`: a closure per bucket was most of what finding gaps allocated. */
function anyValueAt(columns: readonly (readonly (number | null)[])[], i: number): boolean {
  for (const column of columns) if (column[i] !== null) return true;
  return false;
}

/**
 * seriesGaps, with the outages asked of `outagesFor` only once a gap is found: most series have
 * none, and reading the event log cost more than a whole series answered from kept buckets.
 */
export function gapsOfSeries(series: BucketedValues, intervalMs: number, outagesFor: () => readonly Outage[]): SeriesGap[] {
  const gaps = seriesGaps(series, intervalMs, []);
  if (gaps.length === 0) return gaps;
  const outages = outagesFor();
  return gaps.map((gap) => ({ ...gap, reason: likeliestReason(gap.from, gap.to, outages) }));
}

/** The outage overlapping the gap the most; buckets round the gap's ends, so any overlap counts. */
function likeliestReason(from: number, to: number, outages: readonly Outage[]): GapReason | null {
  let best: { overlap: number; reason: GapReason } | null = null;
  for (const outage of outages) {
    const overlap = Math.min(to, outage.to) - Math.max(from, outage.from);
    if (overlap > 0 && (best === null || overlap > best.overlap)) best = { overlap, reason: outage.reason };
  }
  return best?.reason ?? null;
}
