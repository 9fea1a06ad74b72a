import type { TelemetrySeries, TelemetryStats } from "./api-types";
import { CHART_METRICS, type ChartMetric } from "./metrics";

/**
 * Min/avg/max per metric for the stats table. Bucket minima and maxima are the
 * true extremes of the range; the average is weighted by samples per bucket.
 * Where telemetry.stats has an exact figure for the same range, it wins.
 */

export interface Extremes {
  min: number | null;
  avg: number | null;
  max: number | null;
}

export interface RangeStats {
  samples: number;
  first: number | null;
  last: number | null;
  metrics: Record<ChartMetric, Extremes>;
  /** Each clock event reason's share of the samples (null: none reported reasons), when known. */
  clockReasons: TelemetryStats["clockReasons"] | null;
}

/** The reasons' shares over the whole series: each bucket's share weighted by its samples. */
function reasonSharesOf(series: TelemetrySeries): TelemetryStats["clockReasons"] | null {
  const shares = series.clockReasons;
  if (!shares) return null;
  const entries = Object.entries(shares).map(([reason, values]) => {
    let held = 0;
    let weight = 0;
    values.forEach((share, i) => {
      if (share === null) return;
      held += share * series.count[i];
      weight += series.count[i];
    });
    return [reason, weight > 0 ? held / weight : null];
  });
  return Object.fromEntries(entries) as TelemetryStats["clockReasons"];
}

function extremesOf(series: TelemetrySeries, metric: ChartMetric): Extremes {
  const values = series.metrics[metric];
  if (!values) return { min: null, avg: null, max: null };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let weight = 0;
  for (let i = 0; i < series.t.length; i++) {
    const lo = values.min[i];
    const hi = values.max[i];
    const avg = values.avg[i];
    if (lo !== null && lo < min) min = lo;
    if (hi !== null && hi > max) max = hi;
    if (avg !== null) {
      sum += avg * series.count[i];
      weight += series.count[i];
    }
  }
  return {
    min: Number.isFinite(min) ? min : null,
    avg: weight > 0 ? sum / weight : null,
    max: Number.isFinite(max) ? max : null,
  };
}

export function statsFromSeries(series: TelemetrySeries): RangeStats {
  const samples = series.count.reduce((a, b) => a + b, 0);
  const metrics = {} as Record<ChartMetric, Extremes>;
  for (const metric of CHART_METRICS) metrics[metric] = extremesOf(series, metric);
  return {
    samples,
    first: series.t.length > 0 ? series.t[0] : null,
    last: series.t.length > 0 ? series.t[series.t.length - 1] + series.bucketMs : null,
    metrics,
    clockReasons: reasonSharesOf(series),
  };
}

/** The server's exact figures over the same window, filled in from the series where it has none. */
export function mergeExactStats(fromSeries: RangeStats, exact: TelemetryStats): RangeStats {
  const m = fromSeries.metrics;
  return {
    samples: exact.recordCount,
    first: exact.firstTimestamp,
    last: exact.lastTimestamp,
    clockReasons: exact.clockReasons,
    metrics: {
      ...m,
      temperatureC: { ...exact.temperature },
      powerDrawW: { ...exact.powerDraw },
      gpuUtilizationPct: { ...m.gpuUtilizationPct, avg: exact.utilizationAvg },
      graphicsClockMhz: { ...m.graphicsClockMhz, avg: exact.graphicsClockAvg },
      memoryClockMhz: { ...m.memoryClockMhz, avg: exact.memoryClockAvg },
    },
  };
}
