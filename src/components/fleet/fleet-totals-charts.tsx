"use client";
import { useMemo } from "react";
import type { FleetSeries } from "../../lib/api-types";
import { celsius, integer, watts } from "../../lib/format";
import { colorFor, METRIC_INFO, type ChartPanel } from "../../lib/metrics";
import { points } from "../charts/band-chart";
import { ChartFigure } from "../charts/chart-figure";
import { TimeChart } from "../charts/time-chart";

type Total = keyof FleetSeries["totals"];

const TOTALS: Array<{ total: Exclude<Total, "gpus">; panel: ChartPanel; color: string; format: (v: number) => string }> = [
  {
    total: "busy",
    panel: { id: "busy-gpus", title: "GPUs busy", unit: "GPUs", metrics: [], yMin: 0 },
    color: colorFor(1),
    format: (v) => integer(v),
  },
  {
    total: "powerDrawW",
    panel: { id: "power-drawn", title: "Power drawn", unit: "W", metrics: [], yMin: 0 },
    color: METRIC_INFO.powerDrawW.color,
    format: (v) => watts(v),
  },
  {
    total: "hottestC",
    panel: { id: "hottest-gpu", title: "Hottest GPU", unit: "°C", metrics: [] },
    color: METRIC_INFO.temperatureC.color,
    format: (v) => celsius(v),
  },
];

/** One line per total of the group: how many of its GPUs were busy, what they drew together, the hottest reading. */
export function FleetTotalsCharts({ series, xMin, xMax }: { series: FleetSeries; xMin: number; xMax: number }) {
  const lines = useMemo(
    () =>
      TOTALS.map(({ total, color }) => [
        { label: total, data: points(series, series.totals[total], 1), borderColor: color, backgroundColor: color, fill: false },
      ]),
    [series],
  );
  return (
    <div className="chart-grid">
      {TOTALS.map((t, i) => (
        <ChartFigure key={t.total} panel={t.panel} legend={[{ label: t.panel.title, color: t.color }]}>
          <TimeChart
            datasets={lines[i]}
            xMin={xMin}
            xMax={xMax}
            yMin={t.panel.yMin}
            format={t.format}
            tooltipMode="index"
            label={`${t.panel.title} over the range`}
          />
        </ChartFigure>
      ))}
    </div>
  );
}
