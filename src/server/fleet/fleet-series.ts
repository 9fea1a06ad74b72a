import { BUSY_UTILIZATION_PCT, GPU_FAMILIES } from "./families";
import type { FleetGroup, FleetSeriesInput } from "./fleet-inputs";
import type { PrometheusClient, RangeSeries } from "./prometheus-client";
import { matchers, seconds } from "./promql";

/**
 * A group's history from Prometheus at query_range steps: per step, the
 * group's average of each GPU's average over the step, and the lowest and
 * highest reading any of them had, so a short spike shows in the band even at
 * 90 days. Prometheus holds scrape-interval resolution; a step is never shorter.
 */

/** The charted metrics, under the keys the History page's charts read. */
const CHARTED = ["temperatureC", "powerDrawW", "graphicsClockMhz", "gpuUtilizationPct", "memoryUsedMib"] as const;
type Charted = (typeof CHARTED)[number];

type Band = { min: (number | null)[]; max: (number | null)[]; avg: (number | null)[] };

const MIN_STEP_MS = 1000;

export function selectorOf(group: FleetGroup): Record<string, string> {
  switch (group.kind) {
    case "all":
      return {};
    case "host":
      return { instance: group.instance };
    case "model":
      return { modelName: group.model };
    case "gpu":
      return { instance: group.instance, UUID: group.uuid };
  }
}

/** Step: the span over the points asked for, in whole seconds. */
export const stepFor = (input: Pick<FleetSeriesInput, "from" | "to" | "maxPoints">) =>
  Math.max(MIN_STEP_MS, Math.ceil((input.to - input.from) / input.maxPoints / 1000) * 1000);

export async function fleetSeries(prometheus: PrometheusClient, input: FleetSeriesInput) {
  const step = stepFor(input);
  const window = seconds(step);
  const sel = matchers(selectorOf(input.group));
  // Evaluation times on multiples of the step, so a refetch lands on the same buckets; the last one may lie
  // ahead of `to`, so that the newest samples are in a bucket.
  const start = Math.ceil(input.from / step) * step + step;
  const end = Math.max(start, Math.ceil(input.to / step) * step);
  const ask = (query: string) => prometheus.range(query, start, end, step);
  const series = (family: string) => `${family}${sel}`;

  const bands = CHARTED.map((metric) => {
    const family = series(GPU_FAMILIES[metric]);
    return Promise.all([
      ask(`min(min_over_time(${family}[${window}]))`),
      ask(`max(max_over_time(${family}[${window}]))`),
      ask(`avg(avg_over_time(${family}[${window}]))`),
    ]);
  });
  const utilization = series(GPU_FAMILIES.gpuUtilizationPct);
  const [answers, gpus, busy, power] = await Promise.all([
    Promise.all(bands),
    ask(`count(count_over_time(${utilization}[${window}]))`),
    ask(`sum(avg_over_time(${utilization}[${window}]) >= bool ${BUSY_UTILIZATION_PCT})`),
    ask(`sum(avg_over_time(${series(GPU_FAMILIES.powerDrawW)}[${window}]))`),
  ]);

  // A step's bucket is the window before its evaluation time.
  const evaluated = new Set<number>();
  for (const answer of [...answers.flat(), gpus, busy, power]) for (const s of answer) for (const { t } of s.values) evaluated.add(t);
  const times = [...evaluated].sort((a, b) => a - b);
  const column = (answer: RangeSeries[]) => {
    const values = new Map(answer[0]?.values.map(({ t, v }) => [t, Number.isFinite(v) ? v : null]) ?? []);
    return times.map((t) => values.get(t) ?? null);
  };
  const metrics = Object.fromEntries(
    CHARTED.map((metric, i) => {
      const [min, max, avg] = answers[i];
      return [metric, { min: column(min), max: column(max), avg: column(avg) }];
    }),
  ) as Record<Charted, Band>;
  return {
    group: input.group,
    from: input.from,
    to: input.to,
    bucketMs: step,
    t: times.map((t) => t - step),
    metrics,
    totals: {
      gpus: column(gpus),
      busy: column(busy),
      powerDrawW: column(power),
      hottestC: metrics.temperatureC.max,
    },
  };
}
