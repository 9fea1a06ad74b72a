import type { TelemetrySeries } from "./api-types";

/**
 * A range longer than the data in it (a recorder started half an hour ago,
 * looked at over a day) would draw the data as a sliver at one edge. The page
 * opens on the data instead, and zooms around it.
 */

export type TimeWindow = { from: number; to: number };

/** Never narrower than a minute: the shortest window zoom allows. */
const MIN_SPAN_MS = 60_000;
/** Room either side of the data, as a share of its span. */
const MARGIN = 0.05;
/** Data over at least this share of the range is shown over the whole range. */
const FILLS_RANGE = 0.9;

/** First and last instants the series has data for (bucket edges), or null when it has none. */
export function seriesExtent(series: TelemetrySeries): TimeWindow | null {
  if (series.t.length === 0) return null;
  return { from: series.t[0], to: series.t[series.t.length - 1] + series.bucketMs };
}

/** The window around the data when the data fills too little of the range; null when the range is fine as it is. */
export function fitToData(range: TimeWindow, data: TimeWindow): TimeWindow | null {
  const span = Math.max(MIN_SPAN_MS, data.to - data.from);
  const margin = Math.max(span * MARGIN, (MIN_SPAN_MS - (data.to - data.from)) / 2, 0);
  const from = Math.max(range.from, Math.round(data.from - margin));
  const to = Math.min(range.to, Math.round(data.to + margin));
  if (to - from >= FILLS_RANGE * (range.to - range.from)) return null;
  return { from, to: Math.max(to, Math.min(range.to, from + MIN_SPAN_MS)) };
}

/** The middle of what data the window shows, so a zoom keeps it in view; the window's own middle when it shows none. */
export function zoomCentre(shown: TimeWindow, data: TimeWindow | null): number {
  if (data === null) return (shown.from + shown.to) / 2;
  const from = Math.max(shown.from, data.from);
  const to = Math.min(shown.to, data.to);
  return from < to ? (from + to) / 2 : (shown.from + shown.to) / 2;
}
