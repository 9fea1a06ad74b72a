import type { SeriesMetric } from "./api-types";
import { SERIES_TOKENS, themeColor } from "./theme-colors";
import { celsius, gibFromMib, megahertz, percent, watts } from "./format";

/** The metrics the dashboard charts and tabulates, with how each reads. */

export const CHART_METRICS = [
  "temperatureC",
  "powerDrawW",
  "graphicsClockMhz",
  "memoryClockMhz",
  "gpuUtilizationPct",
  "memoryUsedMib",
] as const satisfies readonly SeriesMetric[];

export type ChartMetric = (typeof CHART_METRICS)[number];

export interface MetricInfo {
  label: string;
  unit: string;
  /** Stored value to the plotted one (memory is stored in MiB, shown in GiB). */
  scale: number;
  /** Line colour when a chart shows several metrics of one GPU, as `themeColor` gives it. */
  color: string;
  format: (value: number | null) => string;
  /** Decimals `format` shows of a plotted value: axis ticks step no finer, so no two read the same. */
  tickDecimals: number;
}

export const METRIC_INFO: Record<ChartMetric, MetricInfo> = {
  temperatureC: { color: themeColor("series-3"), label: "Temperature", unit: "°C", scale: 1, format: celsius, tickDecimals: 0 },
  powerDrawW: { color: themeColor("series-1"), label: "Power draw", unit: "W", scale: 1, format: watts, tickDecimals: 0 },
  graphicsClockMhz: { color: themeColor("series-2"), label: "Graphics clock", unit: "MHz", scale: 1, format: megahertz, tickDecimals: 0 },
  memoryClockMhz: { color: themeColor("series-4"), label: "Memory clock", unit: "MHz", scale: 1, format: megahertz, tickDecimals: 0 },
  gpuUtilizationPct: { color: themeColor("series-5"), label: "Utilization", unit: "%", scale: 1, format: percent, tickDecimals: 0 },
  memoryUsedMib: {
    color: themeColor("series-7"),
    label: "Memory used",
    unit: "GiB",
    scale: 1 / 1024,
    format: (v) => gibFromMib(v),
    tickDecimals: 1,
  },
};

export interface ChartPanel {
  id: string;
  title: string;
  unit: string;
  metrics: readonly ChartMetric[];
  /** Fixed axis range where the metric has natural bounds. */
  yMin?: number;
  yMax?: number;
}

export const HISTORY_PANELS: readonly ChartPanel[] = [
  { id: "temperature", title: "Temperature", unit: "°C", metrics: ["temperatureC"] },
  { id: "power", title: "Power draw", unit: "W", metrics: ["powerDrawW"], yMin: 0 },
  { id: "clocks", title: "Clocks", unit: "MHz", metrics: ["graphicsClockMhz", "memoryClockMhz"], yMin: 0 },
  { id: "utilization", title: "Utilization", unit: "%", metrics: ["gpuUtilizationPct"], yMin: 0, yMax: 100 },
  { id: "memory", title: "Memory used", unit: "GiB", metrics: ["memoryUsedMib"], yMin: 0 },
];

/** The live page keeps to what moves second by second; one line per GPU each. */
export const LIVE_PANELS: readonly ChartPanel[] = [
  { id: "temperature", title: "Temperature", unit: "°C", metrics: ["temperatureC"] },
  { id: "power", title: "Power draw", unit: "W", metrics: ["powerDrawW"], yMin: 0 },
  { id: "graphics-clock", title: "Graphics clock", unit: "MHz", metrics: ["graphicsClockMhz"], yMin: 0 },
  { id: "utilization", title: "Utilization", unit: "%", metrics: ["gpuUtilizationPct"], yMin: 0, yMax: 100 },
];

/** Colours that stay apart on either theme's background (globals.css); GPU n takes the n-th. */
export const SERIES_COLORS = SERIES_TOKENS.map((token) => themeColor(token));

export const colorFor = (n: number) => SERIES_COLORS[((n % SERIES_COLORS.length) + SERIES_COLORS.length) % SERIES_COLORS.length];
