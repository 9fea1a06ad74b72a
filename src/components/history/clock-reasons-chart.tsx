"use client";
import { useMemo } from "react";
import type { TelemetrySeries } from "../../lib/api-types";
import type { ChartPanel } from "../../lib/metrics";
import { fade, themeColor } from "../../lib/theme-colors";
import { CLOCK_REASON_LABELS, CLOCK_REASON_SHORT_LABELS, reasonsSeen } from "../../lib/clock-reasons";
import { followsGap } from "../../lib/gap-breaks";
import { ChartFigure } from "../charts/chart-figure";
import type { ChartMarker } from "../charts/chart-overlay";
import type { LegendItem } from "../charts/chart-legend";
import { TimeChart, type LineDataset, type XY, type ZoomControl } from "../charts/time-chart";

const PANEL: ChartPanel = { id: "clock-reasons", title: "Clocks held back by", unit: "share of samples", metrics: [] };

/** A lane is one unit tall: its band starts just above the lane's line and is at most this tall. */
const LANE_FLOOR = 0.1;
const LANE_HEIGHT = 0.8;
const LANE_COLOR = themeColor("series-3");

/**
 * One lane per clock event reason seen in the range: in each bucket, a band as tall as the share
 * of its samples in which that reason held the clocks back (full height: every sample). Reasons
 * never seen in the range get no lane.
 */
export function ClockReasonsChart({
  series,
  xMin,
  xMax,
  zoom,
  markers,
}: {
  series: TelemetrySeries;
  xMin: number;
  xMax: number;
  zoom: ZoomControl;
  markers: readonly ChartMarker[];
}) {
  const { datasets, lanes, spans } = useMemo(() => {
    const shares = series.clockReasons;
    const lanes = shares ? reasonsSeen(shares) : [];
    const datasets: LineDataset[] = [];
    const afterGap = followsGap(series);
    lanes.forEach((reason, lane) => {
      const base = lanes.length - 1 - lane + LANE_FLOOR;
      const values = shares![reason];
      const floor: XY[] = [];
      const band: XY[] = [];
      for (let i = 0; i < series.t.length; i++) {
        const [start, end] = [series.t[i], series.t[i] + series.bucketMs];
        if (afterGap(i)) {
          floor.push({ x: start, y: null });
          band.push({ x: start, y: null });
        }
        const share = values[i];
        // Each bucket drawn flat across its width; a bucket with no reading of reasons is a gap.
        for (const x of [start, end]) {
          floor.push({ x, y: share === null ? null : base });
          band.push({ x, y: share === null ? null : base + LANE_HEIGHT * share });
        }
      }
      datasets.push(
        {
          label: `${CLOCK_REASON_LABELS[reason]} floor`,
          data: floor,
          borderWidth: 0,
          pointRadius: 0,
          fill: false,
          borderColor: "transparent",
        },
        {
          label: CLOCK_REASON_LABELS[reason],
          data: band,
          borderWidth: 1,
          pointRadius: 0,
          fill: "-1",
          borderColor: LANE_COLOR,
          backgroundColor: fade(LANE_COLOR, 0.4),
        },
      );
    });
    return { datasets, lanes, spans: shares ? heldSpans(series, lanes, shares) : [] };
  }, [series]);

  const legend: LegendItem[] = [
    {
      label: `share of each bucket's samples, top to bottom: ${lanes.map((reason) => CLOCK_REASON_LABELS[reason]).join(", ")}`,
      color: fade(LANE_COLOR, 0.6),
      band: true,
    },
  ];
  // Lane lines sit on whole numbers (their reason's name); a value between them is a share.
  const format = (value: number) => {
    const lane = Math.floor(value);
    if (value === lane) return lane >= 0 && lane < lanes.length ? CLOCK_REASON_SHORT_LABELS[lanes[lanes.length - 1 - lane]] : "";
    return `${Math.round(((value - lane - LANE_FLOOR) / LANE_HEIGHT) * 100)} %`;
  };
  if (lanes.length === 0) {
    return (
      <ChartFigure panel={PANEL} legend={[]}>
        <p className="muted small" data-empty="clock-reasons">
          {series.clockReasons ? "Nothing held the clocks back in this range." : "No clock event reasons recorded in this range."}
        </p>
      </ChartFigure>
    );
  }
  return (
    <ChartFigure panel={PANEL} legend={legend}>
      <div data-lanes={lanes.join(" ")}>
        <ul hidden data-held-spans={spans.length}>
          {spans.map((span) => (
            <li key={`${span.reason}-${span.from}`} data-reason={span.reason} data-from={span.from} data-to={span.to} />
          ))}
        </ul>
        <TimeChart
          datasets={datasets}
          xMin={xMin}
          xMax={xMax}
          yMin={0}
          yMax={lanes.length}
          format={format}
          tooltipMode="nearest"
          zoom={zoom}
          markers={markers}
          gaps={series.gaps}
          label={`Clock event reasons: ${lanes.map((reason) => CLOCK_REASON_LABELS[reason]).join(", ")}, as the share of each bucket's samples`}
        />
      </div>
    </ChartFigure>
  );
}

type ReasonShares = NonNullable<TelemetrySeries["clockReasons"]>;

/**
 * Each lane's runs of buckets in which its reason held the clocks back at least once, from the
 * first such bucket's start to the last one's end: the lanes' times for scripts and tests. A run
 * ends at a bucket without the reason or at a gap.
 */
function heldSpans(series: TelemetrySeries, lanes: readonly (keyof ReasonShares)[], shares: ReasonShares) {
  const spans: { reason: keyof ReasonShares; from: number; to: number }[] = [];
  const afterGap = followsGap(series);
  for (const reason of lanes) {
    let open: { from: number; to: number } | null = null;
    for (let i = 0; i < series.t.length; i++) {
      const held = (shares[reason][i] ?? 0) > 0;
      if (open !== null && (!held || afterGap(i))) {
        spans.push({ reason, ...open });
        open = null;
      }
      if (!held) continue;
      open ??= { from: series.t[i], to: 0 };
      open.to = series.t[i] + series.bucketMs;
    }
    if (open !== null) spans.push({ reason, ...open });
  }
  return spans;
}
