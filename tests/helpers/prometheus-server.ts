import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { startPrometheusProcess, type PrometheusServer } from "./prometheus-process";

/**
 * Finding the Prometheus binaries, and starting the server for the bench (serving
 * blocks made by promtool) or for scraping one job of ours.
 */

/** Where Debian installs them; PATH is asked when they are not there, and PROMETHEUS / PROMTOOL name others. */
const BINARIES = {
  prometheus: { variable: "PROMETHEUS", usual: "/usr/bin/prometheus" },
  promtool: { variable: "PROMTOOL", usual: "/usr/bin/promtool" },
} as const;

/** Both binaries' paths, or which one cannot be run. */
export function findPrometheusBinaries(): { prometheus: string; promtool: string } | { missing: string } {
  const found: Record<string, string> = {};
  for (const [name, { variable, usual }] of Object.entries(BINARIES)) {
    const candidate = process.env[variable] || (fs.existsSync(usual) ? usual : name);
    const probe = spawnSync(candidate, ["--version"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0)
      return { missing: `${name} cannot be run (tried ${candidate}; install it, or name it in ${variable})` };
    found[name] = candidate;
  }
  return { prometheus: found.prometheus, promtool: found.promtool };
}

export function prometheusVersion(binary: string): string {
  return /version (\S+)/.exec(spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout)?.[1] ?? "unknown";
}

export type { PrometheusServer };

/** What Prometheus scrapes: each target's /metrics (host:port), every `intervalS` seconds, as job `job`. */
export interface ScrapeSetting {
  job: string;
  targets: string[];
  intervalS: number;
}

/** The configuration file's text; JSON is YAML, so nothing needs quoting by hand. */
function configText(scrape: ScrapeSetting | null): string {
  if (!scrape) return "scrape_configs: []\n";
  const every = `${scrape.intervalS}s`;
  return `${JSON.stringify({
    global: { scrape_interval: every, scrape_timeout: every, evaluation_interval: every },
    scrape_configs: [{ job_name: scrape.job, static_configs: [{ targets: scrape.targets }] }],
  })}\n`;
}

/**
 * Prometheus with its database in `dir`, keeping everything, on a free loopback port:
 * serving the blocks already there and scraping nothing, or scraping `scrape`'s targets.
 */
export function startPrometheus(binary: string, dir: string, scrape: ScrapeSetting | null = null): Promise<PrometheusServer> {
  return startPrometheusProcess({ binary, dir, config: configText(scrape) });
}
