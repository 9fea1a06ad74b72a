"use client";
import { useMemo } from "react";
import type { ChartPanel } from "../../lib/metrics";
import { colorFor, METRIC_INFO } from "../../lib/metrics";
import type { RollingWindow } from "../../lib/rolling-window";
import { ChartFigure } from "./chart-figure";
import { TimeChart, type LineDataset } from "./time-chart";

export interface RollingChartProps {
  panel: ChartPanel;
  window: RollingWindow;
  /** Bumped by the live provider when the window has new readings. */
  version: number;
  /** A GPU's legend label, from its UUID and the index it reported. */
  gpuName: (gpu: { uuid: string; index: number }, shown: readonly { uuid: string; index: number }[]) => string;
}

/** The last minutes of one metric, a line per GPU, from the readings kept in the browser. */
export function RollingChart({ panel, window, version, gpuName }: RollingChartProps) {
  const metric = panel.metrics[0];
  const info = METRIC_INFO[metric];
  const { datasets, legend, end } = useMemo(() => {
    const gpus = window.gpus();
    // By position rather than index, so two GPUs that held one index get two colours.
    const datasets: LineDataset[] = gpus.map((gpu, i) => ({
      label: gpuName(gpu, gpus),
      borderColor: colorFor(i),
      backgroundColor: colorFor(i),
      data: window.points(gpu.uuid).map((p) => ({ x: p.t, y: p[metric] === null ? null : p[metric] * info.scale })),
    }));
    const legend = gpus.map((gpu, i) => ({ label: gpuName(gpu, gpus), color: colorFor(i) }));
    return { datasets, legend, end: window.end() };
    // `version` stands for the window's contents, which change in place.
  }, [window, version, metric, info, gpuName]);
  const xMax = end ?? Date.now();
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
        tooltipMode="nearest"
        label={`${panel.title}, last ${Math.round(window.spanMs / 60_000)} minutes, one line per GPU`}
      />
    </ChartFigure>
  );
}
