"use client";
import type { ChartPanel } from "../../lib/metrics";
import { colorFor, METRIC_INFO } from "../../lib/metrics";
import type { RollingWindow } from "../../lib/rolling-window";
import { ChartFigure } from "./chart-figure";
import { TimeChart, type LineDataset } from "./time-chart";

export interface RollingChartProps {
  panel: ChartPanel;
  window: RollingWindow;
  /** Bumped by the live provider when the window has new readings: a new value renders the chart again. */
  version: number;
  /** A GPU's legend label, from its UUID and the index it reported. */
  gpuName: (gpu: { uuid: string; index: number }, shown: readonly { uuid: string; index: number }[]) => string;
}

/** The last minutes of one metric, a line per GPU, from the readings kept in the browser. */
export function RollingChart({ panel, window, gpuName }: RollingChartProps) {
  const metric = panel.metrics[0];
  const info = METRIC_INFO[metric];
  // Read on every render: the window changes in place, and each new reading renders this again
  // (its `version` prop changes), so there is nothing to keep between renders.
  const gpus = window.gpus();
  // By position rather than index, so two GPUs that held one index get two colours.
  const datasets: LineDataset[] = gpus.map((gpu, i) => ({
    label: gpuName(gpu, gpus),
    borderColor: colorFor(i),
    backgroundColor: colorFor(i),
    data: window.points(gpu.uuid).map((p) => ({ x: p.t, y: p[metric] === null ? null : p[metric] * info.scale })),
  }));
  const legend = gpus.map((gpu, i) => ({ label: gpuName(gpu, gpus), color: colorFor(i) }));
  const xMax = window.end() ?? Date.now();
  const format = (value: number) => info.format(value / info.scale);
  return (
    <ChartFigure panel={panel} legend={legend}>
      <TimeChart
        datasets={datasets}
        xMin={xMax - window.spanMs}
        xMax={xMax}
        yMin={panel.yMin}
        yMax={panel.yMax}
        format={format}
        tickPrecision={info.tickDecimals}
        tooltipMode="nearest"
        label={`${panel.title}, last ${Math.round(window.spanMs / 60_000)} minutes, one line per GPU`}
      />
    </ChartFigure>
  );
}
