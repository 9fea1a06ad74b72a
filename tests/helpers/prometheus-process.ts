import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

/**
 * A real Prometheus server on a free loopback port, for the tests and the
 * bench: its TSDB in `dir`, its configuration written beside it.
 */

/** Debian's, unless PROMETHEUS names another. */
export const PROMETHEUS_BINARY = process.env.PROMETHEUS || "/usr/bin/prometheus";

export interface PrometheusServer {
  url: string;
  /** A counter of Prometheus' own metrics (its /metrics), 0 when absent. */
  ownMetric(name: string): Promise<number>;
  stop(): Promise<void>;
}

export interface PrometheusOptions {
  binary?: string;
  /** The TSDB folder; the configuration file goes next to it. */
  dir: string;
  /** prometheus.yml's text. */
  config: string;
  retention?: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Scrapes each job's targets (host:port) every second. */
export function scrapeConfig(jobs: Record<string, string[]>): string {
  return [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "scrape_configs:",
    ...Object.entries(jobs).flatMap(([job, targets]) => [
      `  - job_name: ${job}`,
      "    static_configs:",
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    ]),
    "",
  ].join("\n");
}

export async function startPrometheusProcess({
  binary = PROMETHEUS_BINARY,
  dir,
  config,
  retention = "100y",
}: PrometheusOptions): Promise<PrometheusServer> {
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, "..", `${path.basename(dir)}.yml`);
  fs.writeFileSync(configFile, config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log: string[] = [];
  const child = spawn(
    binary,
    [
      `--storage.tsdb.path=${dir}`,
      `--storage.tsdb.retention.time=${retention}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--config.file=${configFile}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => log.push(chunk.toString()));
  // An object: a plain variable set in the callback would read as always null to the checks below.
  const state: { exitCode: number | null } = { exitCode: null };
  child.once("error", () => (state.exitCode = -1));
  child.once("exit", (code) => (state.exitCode = code ?? -1));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (state.exitCode !== null)
      throw new Error(`prometheus (${binary}) exited with ${state.exitCode} before it was ready:\n${log.join("").slice(-2000)}`);
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
