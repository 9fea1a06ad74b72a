import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

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

/** Turns an OpenMetrics file into TSDB blocks in `dir` (added to those already there), then deletes the file. */
export function createBlocks(promtool: string, file: string, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(promtool, ["tsdb", "create-blocks-from", "openmetrics", "--quiet", file, dir], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const said: Buffer[] = [];
    for (const stream of [child.stdout, child.stderr]) stream.on("data", (chunk: Buffer) => said.push(chunk));
    child.once("error", reject);
    child.once("exit", (code) => {
      fs.rmSync(file, { force: true });
      if (code === 0) resolve();
      else reject(new Error(`promtool create-blocks-from openmetrics ${file} exited with ${code}: ${Buffer.concat(said).toString()}`));
    });
  });
}

/** Bytes of the TSDB's blocks (chunks, index, meta, tombstones), without the write-ahead log and head chunks. */
export function blockBytes(dir: string): { bytes: number; blocks: number } {
  let bytes = 0;
  let blocks = 0;
  const sizeOf = (entry: string): number =>
    fs.statSync(entry).isDirectory()
      ? fs.readdirSync(entry).reduce((sum, name) => sum + sizeOf(path.join(entry, name)), 0)
      : fs.statSync(entry).size;
  for (const name of fs.readdirSync(dir)) {
    if (!fs.existsSync(path.join(dir, name, "meta.json"))) continue;
    blocks++;
    bytes += sizeOf(path.join(dir, name));
  }
  return { bytes, blocks };
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

/** Prometheus serving the blocks in `dir`, scraping nothing, keeping everything, on a free loopback port. */
export async function startPrometheus(binary: string, dir: string): Promise<PrometheusServer> {
  const config = path.join(dir, "..", "no-scrapes.yml");
  fs.writeFileSync(config, "scrape_configs: []\n");
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
