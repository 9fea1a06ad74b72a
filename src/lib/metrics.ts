import type { SeriesMetric } from "./api-types";
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
  /** Line colour when a chart shows several metrics of one GPU. */
  color: string;
  format: (value: number | null) => string;
  /** Decimals `format` shows of a plotted value: axis ticks step no finer, so no two read the same. */
  tickDecimals: number;
}

export const METRIC_INFO: Record<ChartMetric, MetricInfo> = {
  temperatureC: { color: "#f0a040", label: "Temperature", unit: "°C", scale: 1, format: celsius, tickDecimals: 0 },
  powerDrawW: { color: "#76b900", label: "Power draw", unit: "W", scale: 1, format: watts, tickDecimals: 0 },
  graphicsClockMhz: { color: "#4aa8ff", label: "Graphics clock", unit: "MHz", scale: 1, format: megahertz, tickDecimals: 0 },
  memoryClockMhz: { color: "#e066d0", label: "Memory clock", unit: "MHz", scale: 1, format: megahertz, tickDecimals: 0 },
  gpuUtilizationPct: { color: "#40d0c0", label: "Utilization", unit: "%", scale: 1, format: percent, tickDecimals: 0 },
  memoryUsedMib: { color: "#b0a0ff", label: "Memory used", unit: "GiB", scale: 1 / 1024, format: (v) => gibFromMib(v), tickDecimals: 1 },
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

/** Colours that stay apart on the dark background; GPU n takes the n-th. */
export const SERIES_COLORS = ["#76b900", "#4aa8ff", "#f0a040", "#e066d0", "#40d0c0", "#f06060", "#b0a0ff", "#d0d050"];

export const colorFor = (n: number) => SERIES_COLORS[((n % SERIES_COLORS.length) + SERIES_COLORS.length) % SERIES_COLORS.length];
