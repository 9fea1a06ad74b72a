import type { createTelemetryClient } from "../../src/client/telemetry-client";

const HOUR = 3_600_000;

/** The dashboard's chart query: four metrics of GPU 0 over the last `hours`, in at most 1000 buckets. */
export function chartSeries(client: ReturnType<typeof createTelemetryClient>, hours: number) {
  const to = Date.now();
  return client.telemetry.series.query({
    gpuIndex: 0,
    from: to - hours * HOUR,
    to,
    metrics: ["temperatureC", "powerDrawW", "graphicsClockMhz", "gpuUtilizationPct"],
    maxPoints: 1000,
  });
}
