"use client";
import type { TelemetrySeries } from "../../lib/api-types";
import { clockTime } from "../../lib/format";

/** An event drawn as a vertical line at its time. */
export interface ChartMarker {
  at: number;
  kind: string;
  message: string;
}

export type ChartGap = TelemetrySeries["gaps"][number];

/** Where the chart draws its plot and which times its x axis spans, after its last draw. */
export interface PlotGeometry {
  left: number;
  right: number;
  top: number;
  bottom: number;
  xMin: number;
  xMax: number;
}

const GAP_WORDS: Record<NonNullable<ChartGap["reason"]>, string> = {
  recorder_stopped: "recorder stopped",
  gpu_lost: "GPU lost",
  gpu_stale: "GPU not reporting",
};

export const gapWords = (reason: ChartGap["reason"]) => (reason === null ? "no samples" : GAP_WORDS[reason]);

/**
 * Event markers and shaded gaps over a chart's plot, in the page rather than on the canvas:
 * a marker names its event on hover (the event list under the charts names them all for
 * keyboards and screen readers, so the markers add no tab stops), and tests and scripts find both by their data
 * attributes (`data-markers` with `data-event`/`data-at`, `data-gaps` with `data-from`/`data-to`/
 * `data-reason`). Those outside the time axis shown stay listed, hidden.
 */
export function ChartOverlay({
  markers,
  gaps,
  plot,
}: {
  markers: readonly ChartMarker[];
  gaps: readonly ChartGap[];
  plot: PlotGeometry | null;
}) {
  const span = plot === null ? 0 : plot.xMax - plot.xMin;
  const xOf = (at: number) => (plot === null || span <= 0 ? null : plot.left + ((at - plot.xMin) / span) * (plot.right - plot.left));
  const inPlot = (x: number | null): x is number => x !== null && plot !== null && x >= plot.left && x <= plot.right;
  const height = plot === null ? 0 : plot.bottom - plot.top;
  return (
    <>
      <ul className="chart-gaps" data-gaps={gaps.length} aria-hidden="true">
        {gaps.map((gap) => {
          const [from, to] = [xOf(gap.from), xOf(gap.to)];
          const shown = plot !== null && from !== null && to !== null && to > plot.left && from < plot.right;
          const left = shown ? Math.max(plot.left, from) : 0;
          const words = gapWords(gap.reason);
          return (
            <li
              key={gap.from}
              data-from={gap.from}
              data-to={gap.to}
              data-reason={gap.reason ?? "unknown"}
              hidden={!shown}
              title={`No samples from ${clockTime(gap.from)} to ${clockTime(gap.to)}: ${words}`}
              style={shown ? { left, top: plot.top, width: Math.min(plot.right, to) - left, height } : undefined}
            >
              <span className="chart-gap-label">{words}</span>
            </li>
          );
        })}
      </ul>
      <ul className="chart-markers" data-markers={markers.length} aria-hidden="true">
        {markers.map((marker) => {
          const x = xOf(marker.at);
          const shown = inPlot(x);
          return (
            <li
              key={`${marker.at}-${marker.kind}`}
              data-event={marker.kind}
              data-at={marker.at}
              hidden={!shown}
              // Past the middle the name opens to the left, inside the chart.
              className={shown && x > (plot!.left + plot!.right) / 2 ? "opens-left" : undefined}
              style={shown ? { left: x, top: plot!.top, height } : undefined}
            >
              <span className="chart-marker-label">
                {clockTime(marker.at)} {marker.message}
              </span>
            </li>
          );
        })}
      </ul>
    </>
  );
}
