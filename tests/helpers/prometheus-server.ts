import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

/**
 * A real Prometheus server in a child process, for the bench (serving blocks
 * made by promtool) and the tests (scraping a real server of ours).
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface PrometheusServer {
  url: string;
  /** A counter of Prometheus' own metrics (its /metrics), 0 when absent. */
  ownMetric(name: string): Promise<number>;
  stop(): Promise<void>;
}

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
export async function startPrometheus(binary: string, dir: string, scrape: ScrapeSetting | null = null): Promise<PrometheusServer> {
  const config = path.join(dir, "..", scrape ? "scrapes.yml" : "no-scrapes.yml");
  fs.writeFileSync(config, configText(scrape));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn(
    binary,
    [
      `--storage.tsdb.path=${dir}`,
      "--storage.tsdb.retention.time=100y",
      `--web.listen-address=127.0.0.1:${port}`,
      `--config.file=${config}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  // An object: a plain variable set in the callback would read as always null to the checks below.
  const state: { exitCode: number | null } = { exitCode: null };
  child.once("exit", (code) => (state.exitCode = code ?? -1));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (state.exitCode !== null)
      throw new Error(`prometheus exited with ${state.exitCode} before it was ready:\n${log.join("").slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error(`prometheus was not ready within 120 s:\n${log.join("").slice(-2000)}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    async ownMetric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line ? Number(line.slice(name.length + 1)) : 0;
    },
    stop: () =>
      new Promise((resolve) => {
        if (state.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
