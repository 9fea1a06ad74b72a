"use client";
import type { Chart, ChartDataset, ChartOptions, Plugin, TooltipItem } from "chart.js";
import { useEffect, useRef, useState } from "react";
import { documentTokens, resolveThemeColor, type TokenReader } from "../../lib/theme-colors";
import { loadChartJs } from "./chart-loader";
import { ChartOverlay, type ChartGap, type ChartMarker, type PlotGeometry } from "./chart-overlay";
import { colorText, paintChart } from "./paint-chart";
import { useThemeChange } from "./use-theme-change";

/**
 * One Chart.js line chart on a time axis. The chart is created once and then
 * fed new data in place (no re-creation, no animation), so a chart that
 * updates every second stays cheap. Its colours come from the page's theme
 * (globals.css) and are read again, in place, when the theme changes. Chart.js
 * itself loads in the browser only; if that fails, the chart says so and tries
 * again rather than taking the page down.
 */

const RETRY_LOAD_MS = 5000;
/** Zooming in further than this shows nothing a sample per second can fill. */
const MIN_ZOOM_SPAN_MS = 60_000;

export type XY = { x: number; y: number | null };
/** Colours are CSS text: `themeColor`/`fade` for the theme's, which the chart resolves as it draws. */
export type LineDataset = ChartDataset<"line", XY[]>;

export interface ZoomControl {
  /** Zoom and pan stay inside this window. */
  bounds: { from: number; to: number };
  /** Called when a wheel/pinch zoom or a drag pan ends, with the window now shown. */
  onWindow: (from: number, to: number) => void;
}

export interface TimeChartProps {
  datasets: LineDataset[];
  xMin: number;
  xMax: number;
  yMin?: number;
  yMax?: number;
  /** Formats a y value for ticks and the tooltip, unit included. */
  format: (value: number) => string;
  /** Decimals the y ticks step by: as many as `format` shows, so no two ticks read the same. */
  tickPrecision?: number;
  tooltipMode: "index" | "nearest";
  zoom?: ZoomControl;
  /** What the chart shows, for screen readers. */
  label: string;
  /** Events drawn as vertical lines at their time. */
  markers?: readonly ChartMarker[];
  /** Stretches without samples, shaded and named. */
  gaps?: readonly ChartGap[];
}

const NO_MARKERS: readonly ChartMarker[] = [];
const NO_GAPS: readonly ChartGap[] = [];

const samePlot = (a: PlotGeometry | null, b: PlotGeometry) =>
  a !== null &&
  a.left === b.left &&
  a.right === b.right &&
  a.top === b.top &&
  a.bottom === b.bottom &&
  a.xMin === b.xMin &&
  a.xMax === b.xMax;

const TIME_FORMATS = {
  millisecond: "HH:mm:ss.SSS",
  second: "HH:mm:ss",
  minute: "HH:mm",
  hour: "HH:mm",
  day: "MMM d",
  week: "MMM d",
  month: "MMM yyyy",
  quarter: "MMM yyyy",
  year: "yyyy",
};

const Y_AXIS_WIDTH = 76;

/**
 * After every draw, writes what the canvas shows onto it, for the tests and for
 * people's scripts: points drawn, points inside the window shown, the window,
 * the y tick labels, and the tick, grid and line colours drawn. Tells the chart
 * whether anything is in view, and where its plot is (the markers and gaps
 * laid over it follow).
 */
function viewReport(onInView: (count: number) => void, onPlot: (plot: PlotGeometry) => void): Plugin<"line"> {
  return {
    id: "nvocViewReport",
    afterRender(chart) {
      const { min, max } = chart.scales.x;
      let drawn = 0;
      let inView = 0;
      chart.data.datasets.forEach((dataset, i) => {
        if (!chart.isDatasetVisible(i)) return;
        drawn += dataset.data.length;
        for (const point of dataset.data as XY[]) if (point.y !== null && point.x >= min && point.x <= max) inView++;
      });
      const canvas = chart.canvas.dataset;
      canvas.points = String(drawn);
      canvas.inView = String(inView);
      canvas.xMin = String(Math.round(min));
      canvas.xMax = String(Math.round(max));
      canvas.yTicks = chart.scales.y.ticks
        .map((tick) => tick.label)
        .filter((label) => label !== null && label !== undefined && label !== "")
        .join("\n");
      const y = chart.options.scales?.y;
      canvas.tickColor = colorText(y?.ticks?.color);
      canvas.gridColor = colorText(y?.grid?.color);
      canvas.lineColors = chart.data.datasets.map((dataset) => colorText(dataset.borderColor)).join(" ");
      onInView(inView);
      const { left, right, top, bottom } = chart.chartArea;
      onPlot({ left, right, top, bottom, xMin: min, xMax: max });
    },
  };
}

type LineChart = Chart<"line", XY[]>;

/**
 * Pushes the current props into the chart and redraws it without animation.
 * The time axis is only set when the page asks for a new window: new data
 * arriving mid-zoom must not snap a wheel zoom back before it is reported.
 */
function apply(chart: LineChart, props: TimeChartProps, windowChanged: boolean) {
  const read = documentTokens();
  chart.data.datasets = props.datasets.map((dataset) => ({
    ...dataset,
    borderColor: paint(dataset.borderColor, read),
    backgroundColor: paint(dataset.backgroundColor, read),
  }));
  paintChart(chart, read);
  const scales = chart.options.scales!;
  if (windowChanged) {
    scales.x!.min = props.xMin;
    scales.x!.max = props.xMax;
  }
  scales.y!.min = props.yMin;
  // The y axis is linear; the options' type covers every scale type, which a plain assignment trips over.
  Object.assign(scales.y!.ticks!, { precision: props.tickPrecision ?? 0 });
  scales.y!.max = props.yMax;
  const zoomOptions = chart.options.plugins?.zoom;
  if (zoomOptions && props.zoom)
    zoomOptions.limits = { x: { min: props.zoom.bounds.from, max: props.zoom.bounds.to, minRange: MIN_ZOOM_SPAN_MS } };
  chart.update("none");
}

/** A colour given as CSS text, resolved for the canvas; anything else (a gradient, a function) as it is. */
const paint = <T,>(color: T, read: TokenReader): T => (typeof color === "string" ? (resolveThemeColor(color, read) as T) : color);

export function TimeChart(props: TimeChartProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const chartRef = useRef<LineChart | null>(null);
  const latest = useRef(props);
  latest.current = props;
  const [loadError, setLoadError] = useState<string | null>(null);
  const [nothingInView, setNothingInView] = useState(false);
  const [plot, setPlot] = useState<PlotGeometry | null>(null);
  const [attempt, setAttempt] = useState(0);
  const appliedWindow = useRef<{ xMin: number; xMax: number } | null>(null);
  const push = (chart: LineChart) => {
    const { xMin, xMax } = latest.current;
    const applied = appliedWindow.current;
    apply(chart, latest.current, applied === null || applied.xMin !== xMin || applied.xMax !== xMax);
    appliedWindow.current = { xMin, xMax };
  };

  useEffect(() => {
    let cancelled = false;
    let chart: LineChart | null = null;
    loadChartJs().then(
      ({ Chart }) => {
        const canvas = canvasRef.current;
        if (cancelled || !canvas) return;
        chart = new Chart<"line", XY[]>(canvas, {
          type: "line",
          data: { datasets: [] },
          options: chartOptions(latest),
          plugins: [
            viewReport(
              (count) => setNothingInView(count === 0),
              (next) => setPlot((known) => (samePlot(known, next) ? known : next)),
            ),
          ],
        });
        chartRef.current = chart;
        appliedWindow.current = null;
        push(chart);
        setLoadError(null);
      },
      (error: unknown) => {
        if (!cancelled) setLoadError(error instanceof Error ? error.message : String(error));
      },
    );
    return () => {
      cancelled = true;
      chart?.destroy();
      chartRef.current = null;
    };
  }, [attempt]);

  useEffect(() => {
    if (loadError === null) return;
    const timer = setTimeout(() => setAttempt((n) => n + 1), RETRY_LOAD_MS);
    return () => clearTimeout(timer);
  }, [loadError, attempt]);

  const { datasets, xMin, xMax, yMin, yMax, zoom } = props;
  useEffect(() => {
    if (chartRef.current) push(chartRef.current);
  }, [datasets, xMin, xMax, yMin, yMax, zoom]);
  useThemeChange(() => {
    if (chartRef.current) push(chartRef.current);
  });

  return (
    <div className="chart-canvas">
      <canvas ref={canvasRef} role="img" aria-label={props.label} />
      {(props.markers ?? props.gaps) && (
        <ChartOverlay markers={props.markers ?? NO_MARKERS} gaps={props.gaps ?? NO_GAPS} plot={loadError === null ? plot : null} />
      )}
      {nothingInView && loadError === null && (
        <p className="chart-empty muted" data-testid="no-samples-in-view">
          No samples in view
        </p>
      )}
      {loadError !== null && (
        <p className="chart-failed" role="status">
          The chart could not load ({loadError}); trying again.
        </p>
      )}
    </div>
  );
}

function chartOptions(latest: { current: TimeChartProps }): ChartOptions<"line"> {
  const reportWindow = (chart: Chart) => {
    const { min, max } = chart.scales.x;
    latest.current.zoom?.onWindow(Math.round(min), Math.round(max));
  };
  const zoom = latest.current.zoom;
  return {
    responsive: true,
    maintainAspectRatio: false,
    parsing: false,
    normalized: true,
    spanGaps: false,
    interaction: { mode: latest.current.tooltipMode, axis: "x", intersect: false },
    elements: { point: { radius: 0, hitRadius: 6, hoverRadius: 3 }, line: { borderWidth: 1.5, tension: 0 } },
    scales: {
      x: {
        type: "time",
        time: { displayFormats: TIME_FORMATS, tooltipFormat: "yyyy-MM-dd HH:mm:ss", minUnit: "minute" },
        ticks: { maxRotation: 0, autoSkipPadding: 16 },
        grid: { display: false },
        // Colours here and below are the theme's, filled in by paintChart.
        border: {},
      },
      y: {
        beginAtZero: false,
        ticks: {
          precision: latest.current.tickPrecision ?? 0,
          maxTicksLimit: 6,
          // Rounding for display can still make neighbours read alike on a narrow axis: each label once.
          callback: (value, index, ticks) => {
            const label = latest.current.format(Number(value));
            return index > 0 && latest.current.format(ticks[index - 1].value) === label ? null : label;
          },
        },
        grid: {},
        border: {},
        // The same axis width on every chart lines their time axes up under each other.
        afterFit: (scale) => {
          scale.width = Y_AXIS_WIDTH;
        },
      },
    },
    plugins: {
      tooltip: {
        callbacks: {
          label: (item: TooltipItem<"line">) => `${item.dataset.label ?? ""}: ${latest.current.format(item.parsed.y ?? Number.NaN)}`,
        },
        filter: (item) => item.parsed.y !== null,
      },
      ...(zoom
        ? {
            zoom: {
              limits: { x: { min: zoom.bounds.from, max: zoom.bounds.to, minRange: MIN_ZOOM_SPAN_MS } },
              pan: { enabled: true, mode: "x" as const, onPanComplete: ({ chart }: { chart: Chart }) => reportWindow(chart) },
              zoom: {
                wheel: { enabled: true, speed: 0.15 },
                pinch: { enabled: true },
                mode: "x" as const,
                onZoomComplete: ({ chart }: { chart: Chart }) => reportWindow(chart),
              },
            },
          }
        : {}),
    },
  };
}
