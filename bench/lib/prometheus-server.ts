import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startPrometheusProcess, type PrometheusServer } from "../../tests/helpers/prometheus-process";

export type { PrometheusServer };

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

/** Prometheus serving the blocks in `dir`, scraping nothing, keeping everything, on a free loopback port. */
export function startPrometheus(binary: string, dir: string): Promise<PrometheusServer> {
  return startPrometheusProcess({ binary, dir, config: "scrape_configs: []\n" });
}
