import type { createTelemetryClient } from "../../src/client/telemetry-client";
import { DAY_MS, HOUR_MS } from "../../src/telemetry/durations";
import type { MetricKey } from "../../src/telemetry/types";

/** The four metrics the History page's charts ask for. */
export const CHART_METRICS: MetricKey[] = ["temperatureC", "powerDrawW", "graphicsClockMhz", "gpuUtilizationPct"];

/** The spans the History page offers, with their labels. */
export const PRESET_SPANS: Array<[label: string, spanMs: number]> = [
  ["1 h", HOUR_MS],
  ["6 h", 6 * HOUR_MS],
  ["24 h", DAY_MS],
  ["48 h", 2 * DAY_MS],
  ["7 d", 7 * DAY_MS],
  ["30 d", 30 * DAY_MS],
  ["90 d", 90 * DAY_MS],
];

/** The dashboard's chart query: the chart metrics of GPU 0 over the last `hours`, in at most 1000 buckets. */
export function chartSeries(client: ReturnType<typeof createTelemetryClient>, hours: number) {
  const to = Date.now();
  return client.telemetry.series.query({ gpuIndex: 0, from: to - hours * HOUR_MS, to, metrics: CHART_METRICS, maxPoints: 1000 });
}

/** The chart query over every one of `gpus` GPUs (indexes 0 to gpus - 1) as one `telemetry.seriesOfGpus` input. */
export const everyGpuSeriesInput = (hours: number, gpus: number, to = Date.now()) => ({
  gpus: Array.from({ length: gpus }, (_, gpuIndex) => ({ gpuIndex })),
  from: to - hours * HOUR_MS,
  to,
  metrics: CHART_METRICS,
  maxPoints: 1000,
});

/** The same through the typed client, which reads the answer back (JSON parsed, columns revived). */
export function chartSeriesOfGpus(client: ReturnType<typeof createTelemetryClient>, hours: number, gpus: number) {
  return client.telemetry.seriesOfGpus.query(everyGpuSeriesInput(hours, gpus));
}
