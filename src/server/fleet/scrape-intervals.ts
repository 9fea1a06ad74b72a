import type { PrometheusClient } from "./prometheus-client";

/** Prometheus' own default scrape interval: assumed where the API does not say (Thanos, Mimir). */
const DEFAULT_SCRAPE_INTERVAL_MS = 60_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "1m30s" in milliseconds; null when it is not a Prometheus duration. */
export function durationMs(text: string): number | null {
  if (!/^(\d+(ms|s|m|h|d))+$/.test(text)) return null;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(amount) * UNIT_MS[unit];
  return total > 0 ? total : null;
}

/** Each scrape target's interval, by its instance label. */
export async function scrapeIntervals(prometheus: PrometheusClient): Promise<{ of: (instance: string) => number }> {
  const targets = (await prometheus.targets()) ?? [];
  const byInstance = new Map<string, number>();
  for (const target of targets) {
    const interval = target.scrapeInterval === undefined ? null : durationMs(target.scrapeInterval);
    const instance = target.labels.instance;
    if (interval !== null && instance !== undefined) byInstance.set(instance, interval);
  }
  return { of: (instance) => byInstance.get(instance) ?? DEFAULT_SCRAPE_INTERVAL_MS };
}
