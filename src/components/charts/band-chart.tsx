"use client";
import { useMemo } from "react";
import type { TelemetrySeries } from "../../lib/api-types";
import { followsGap } from "../../lib/gap-breaks";
import { METRIC_INFO, type ChartMetric, type ChartPanel } from "../../lib/metrics";
import type { ChartMarker } from "./chart-overlay";
import { fade } from "../../lib/theme-colors";
import { ChartFigure } from "./chart-figure";
import type { LegendItem } from "./chart-legend";
import { TimeChart, type LineDataset, type XY, type ZoomControl } from "./time-chart";

type Band = NonNullable<TelemetrySeries["metrics"][ChartMetric]>;

/** What a band chart reads of a series: this recorder's (telemetry.series) or Prometheus' (fleet.series). */
export type BandSeries = Pick<TelemetrySeries, "bucketMs" | "t"> &
  Partial<Pick<TelemetrySeries, "gaps">> & { metrics: Partial<Record<ChartMetric, Band>> };

export interface BandChartProps {
  panel: ChartPanel;
  series: BandSeries;
  /** The window shown (the zoomed one, or the whole range). */
  xMin: number;
  xMax: number;
  zoom?: ZoomControl;
  /** Events of the window, drawn as vertical lines. */
  markers?: readonly ChartMarker[];
}

/**
 * Bucket values as chart points at each bucket's middle. A gap in the series
 * (the recorder was off, the GPU lost) breaks the line rather than bridging it.
 */
export function points(series: Pick<BandSeries, "bucketMs" | "t" | "gaps">, values: (number | null)[], scale: number): XY[] {
  const out: XY[] = [];
  const half = series.bucketMs / 2;
  const afterGap = followsGap(series);
  for (let i = 0; i < series.t.length; i++) {
    if (afterGap(i)) out.push({ x: series.t[i - 1] + series.bucketMs, y: null });
    const value = values[i];
    out.push({ x: series.t[i] + half, y: value === null ? null : value * scale });
  }
  return out;
}

/** Min..max of each bucket as a filled band with the average drawn over it. */
export function BandChart({ panel, series, xMin, xMax, zoom, markers }: BandChartProps) {
  const { datasets, legend } = useMemo(() => {
    const datasets: LineDataset[] = [];
    const legend: LegendItem[] = [];
    for (const metric of panel.metrics) {
      const info = METRIC_INFO[metric];
      const values = series.metrics[metric];
      if (!values) continue;
      // Order matters: the max band fills down to the dataset just before it (its min).
      datasets.push(
        {
          label: `${info.label} min`,
          data: points(series, values.min, info.scale),
          borderWidth: 0,
          pointRadius: 0,
          fill: false,
          borderColor: "transparent",
        },
        {
          label: `${info.label} max`,
          data: points(series, values.max, info.scale),
          borderWidth: 0,
          pointRadius: 0,
          fill: "-1",
          borderColor: "transparent",
          backgroundColor: fade(info.color, 0.22),
        },
        {
          label: `${info.label} avg`,
          data: points(series, values.avg, info.scale),
          borderColor: info.color,
          backgroundColor: info.color,
          fill: false,
        },
      );
      legend.push({ label: `${info.label} avg`, color: info.color }, { label: "min–max", color: fade(info.color, 0.35), band: true });
    }
    return { datasets, legend };
  }, [panel, series]);
  const first = METRIC_INFO[panel.metrics[0]];
  const format = (value: number) => first.format(value / first.scale);
  return (
    <ChartFigure panel={panel} legend={legend}>
      <TimeChart
        datasets={datasets}
        xMin={xMin}
        xMax={xMax}
        yMin={panel.yMin}
        yMax={panel.yMax}
        format={format}
        tickPrecision={first.tickDecimals}
        tooltipMode="index"
        zoom={zoom}
        markers={markers}
        gaps={series.gaps}
        label={`${panel.title}: average with the minimum to maximum band`}
      />
    </ChartFigure>
  );
}
