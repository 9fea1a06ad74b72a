"use client";
import { Fragment, useEffect, useMemo, useRef } from "react";
import type { TelemetrySeries } from "../../lib/api-types";
import { HISTORY_PANELS } from "../../lib/metrics";
import { zoomCentre, type TimeWindow } from "../../lib/data-window";
import { scaleWindow } from "../../lib/time-range";
import { BandChart } from "../charts/band-chart";
import { ClockReasonsChart } from "./clock-reasons-chart";
import type { ZoomControl } from "../charts/time-chart";
import type { ChartMarker } from "../charts/chart-overlay";

/** Wheel zooms fire many events; the series is refetched once the hand stops. */
const SETTLE_MS = 250;

export interface HistoryChartsProps {
  series: TelemetrySeries;
  /** The whole selected range: zoom and pan stay inside it. */
  full: TimeWindow;
  shown: TimeWindow;
  /** Where the range has data: zoom keeps it in view. */
  data: TimeWindow | null;
  /** Said above the charts, e.g. that the range holds data from 14:03 only. */
  note: string | null;
  zoomed: boolean;
  /** A new window to show (refetched at full detail), or null for the whole range. */
  onZoom: (window: TimeWindow | null) => void;
  /** The window's events: a marker on every chart. */
  markers: readonly ChartMarker[];
}

export function HistoryCharts({ series, full, shown, data, note, zoomed, onZoom, markers }: HistoryChartsProps) {
  const settle = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => clearTimeout(settle.current ?? undefined), []);

  const apply = (next: TimeWindow) => {
    const whole = next.from <= full.from && next.to >= full.to;
    onZoom(whole ? null : next);
  };
  const applyRef = useRef(apply);
  applyRef.current = apply;

  const zoom = useMemo<ZoomControl>(
    () => ({
      bounds: { from: full.from, to: full.to },
      onWindow: (from, to) => {
        clearTimeout(settle.current ?? undefined);
        settle.current = setTimeout(() => applyRef.current({ from, to }), SETTLE_MS);
      },
    }),
    [full.from, full.to],
  );

  return (
    <section className="section" aria-labelledby="charts-title">
      <div className="section-head">
        <h2 id="charts-title" className="section-title">
          Charts
        </h2>
        <div className="zoom-buttons" role="group" aria-label="Zoom">
          <button
            type="button"
            className="button"
            onClick={() => apply(scaleWindow(shown, 0.5, full, zoomCentre(shown, data)))}
            aria-label="Zoom in"
          >
            +
          </button>
          <button
            type="button"
            className="button"
            onClick={() => apply(scaleWindow(shown, 2, full, zoomCentre(shown, data)))}
            aria-label="Zoom out"
            disabled={!zoomed}
          >
            −
          </button>
          <button type="button" className="button" onClick={() => onZoom(null)} disabled={!zoomed} data-testid="reset-zoom">
            Reset zoom
          </button>
        </div>
      </div>
      <p className="muted small hint">
        {note !== null && (
          <span className="data-note" data-testid="data-from">
            {note}{" "}
          </span>
        )}
        Scroll or pinch on a chart to zoom, drag to pan. Vertical lines mark events (hover one for what happened); shaded stretches had no
        samples.
      </p>
      <div className="chart-grid">
        {HISTORY_PANELS.map((panel) => (
          <Fragment key={panel.id}>
            <BandChart panel={panel} series={series} xMin={shown.from} xMax={shown.to} zoom={zoom} markers={markers} />
            {/* Why the clocks are where they are, right under them. */}
            {panel.id === "clocks" && <ClockReasonsChart series={series} xMin={shown.from} xMax={shown.to} zoom={zoom} markers={markers} />}
          </Fragment>
        ))}
      </div>
    </section>
  );
}
