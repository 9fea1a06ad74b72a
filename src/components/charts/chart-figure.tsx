import type { ReactNode } from "react";
import type { ChartPanel } from "../../lib/metrics";
import { ChartLegend, type LegendItem } from "./chart-legend";

/** A panel's frame: its title and unit above the chart, its legend below. */
export function ChartFigure({ panel, legend, children }: { panel: ChartPanel; legend: LegendItem[]; children: ReactNode }) {
  return (
    <figure className="chart" data-testid="chart" data-chart={panel.id}>
      <figcaption className="chart-title">
        {panel.title} <span className="muted">({panel.unit})</span>
      </figcaption>
      {children}
      <ChartLegend items={legend} />
    </figure>
  );
}
