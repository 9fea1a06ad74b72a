/**
 * Memory and warm start of the real server: `npx tsx bench/memory.ts`.
 * The built server (dist/server.mjs, pages in .next) on a copy of a history
 * database, with simulated GPUs recording at 1 Hz, in one run:
 *
 * - the first history requests after the start against the same requests once warm;
 * - RSS fresh, after bench/run.ts's query mix, after a settle period, and its peak;
 * - RSS before, during and after an export of 48 h of every GPU: CSV, JSON, CSV with gzip,
 *   then CSV and JSON through `nvidia-oc export` (whose fetch asks for a compressed answer).
 *
 *   --gpus N --days D   the history database (default 8 x 90, cached in the temp folder as bench/run.ts caches it)
 *   --settle S          seconds to wait after the query mix (default 30)
 *   --rounds N          timed requests per query of the mix (default 200)
 *   --server FILE       another build of the server to measure instead of dist/server.mjs
 *   --env NAME=VALUE    set in the server's environment, NAME= to leave it out (may be given more than once)
 *   --node-flags="..."  node's flags for the server instead of npm start's
 *   --exports-only      skip the warm start and the query mix: the exports on a fresh server
 */
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createTelemetryClient } from "../src/client/telemetry-client";
import { cachedHistoryDatabase } from "./lib/history-db";
import { NPM_START_FLAGS, percentile, startServer, type BenchServer } from "./lib/process";
import { chartSeries } from "./lib/series-query";

const { values } = parseArgs({
  options: {
    gpus: { type: "string", default: "8" },
    days: { type: "string", default: "90" },
    settle: { type: "string", default: "30" },
    rounds: { type: "string", default: "200" },
    server: { type: "string" },
    env: { type: "string", multiple: true, default: [] },
    "node-flags": { type: "string" },
    "exports-only": { type: "boolean", default: false },
  },
});
const serverEnv = Object.fromEntries(
  values.env.map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--env ${pair}: expected NAME=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1) || undefined];
  }),
);
const gpus = Number(values.gpus);
const days = Number(values.days);
const settleSeconds = Number(values.settle);
const rounds = Number(values.rounds);
/** The first history requests after a start that are compared with warm ones. */
const FIRST_REQUESTS = 70;
const WARM_UPS = 50;
const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

const mb = (bytes: number) => (bytes / 1e6).toFixed(0);
const ms = (n: number) => n.toFixed(2);

/** Resident and peak resident memory of a process, from /proc. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** Samples RSS every 50 ms until stopped: the peak of one stage, which VmHWM (the peak since start) cannot give. */
function rssPeakWatcher(pid: number) {
  let peak = memoryOf(pid).rss;
  const timer = setInterval(() => (peak = Math.max(peak, memoryOf(pid).rss)), 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, memoryOf(pid).rss);
  };
}

/** Where the resident memory is, from /proc/<pid>/smaps_rollup: anonymous (heaps) and file-backed (the binary, libraries). */
function residentParts(pid: number): string {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? Number.NaN) * 1024;
  return `anonymous ${mb(kb("Anonymous"))} MB, file-backed ${mb(kb("Rss") - kb("Anonymous"))} MB`;
}

/** A keep-alive client that reads the whole body, as a script polling the API does; `gzip` asks for a compressed answer, as the CLI's fetch does. */
function plainClient() {
  const agent = new http.Agent({ keepAlive: true });
  const get = (url: string, gzip = false) =>
    new Promise<number>((resolve, reject) => {
      http
        .get(url, { agent, headers: gzip ? { "accept-encoding": "gzip" } : {} }, (res) => {
          let bytes = 0;
          res.on("data", (chunk: Buffer) => (bytes += chunk.length));
          res.on("end", () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
        })
        .on("error", reject);
    });
  return { get, close: () => agent.destroy() };
}

async function timed(count: number, request: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await request();
    times.push(performance.now() - t);
  }
  return times;
}

/** The server's own view of its memory, from the Prometheus default metrics. */
async function heapBreakdown(server: BenchServer): Promise<string> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  const cache = text.match(/^nvoc_cache_bytes\{cache="(\w+)"\} (\S+)$/gm) ?? [];
  const caches = cache.map((line) => line.replace(/^nvoc_cache_bytes\{cache="(\w+)"\} (\S+)$/, (_, name, n) => `${name} ${mb(Number(n))}`));
  return (
    `heap used ${mb(value("nodejs_heap_size_used_bytes"))} of ${mb(value("nodejs_heap_size_total_bytes"))} MB, ` +
    `external ${mb(value("nodejs_external_memory_bytes"))} MB` +
    (caches.length > 0 ? `; caches (MB): ${caches.join(", ")}` : "")
  );
}

/** bench/run.ts's query mix, each query warmed up and then asked `rounds` times. */
async function queryMix(server: BenchServer, get: (url: string) => Promise<unknown>) {
  const client = createTelemetryClient(server.url);
  const span = Math.min(days * 24, 2160);
  const series = (hours: number) => () => chartSeries(client, hours);
  const gzip = async (url: string) => (await fetch(url)).text();
  const cases: Array<[string, () => Promise<unknown>]> = [
    ["history 1000, Node http", () => get(`${server.url}/api/telemetry/history?limit=1000&hours=24`)],
    ["history 1000, fetch (gzip)", () => gzip(`${server.url}/api/telemetry/history?limit=1000&hours=24`)],
    ["history 10000, all GPUs", () => get(`${server.url}/api/telemetry/history?limit=10000&hours=24`)],
    ["stats 24 h", () => get(`${server.url}/api/telemetry/stats/0?hours=24`)],
    [`stats ${span} h`, () => get(`${server.url}/api/telemetry/stats/0?hours=${span}`)],
    [`series ${span} h`, series(span)],
    ["series 168 h", series(Math.min(span, 168))],
    ["series 24 h", series(24)],
    ["series 1 h", series(1)],
    ["database stats", () => get(`${server.url}/api/telemetry/database/stats`)],
  ];
  for (const [name, request] of cases) {
    await timed(WARM_UPS, request);
    const times = await timed(rounds, request);
    const { rss, peak } = memoryOf(server.pid);
    console.log(
      `  ${name}: p50 ${ms(percentile(times, 50))} ms, p95 ${ms(percentile(times, 95))} ms; RSS ${mb(rss)} MB (peak ${mb(peak)})`,
    );
  }
}

async function main() {
  const built = spawnSync(process.execPath, [path.join(ROOT, "scripts", "ensure-build.mjs")], { stdio: "inherit" });
  if (built.status !== 0) throw new Error("building the server failed");
  const source = cachedHistoryDatabase(gpus, days, "bench");
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-memory-"));
  const dbPath = path.join(workDir, "history.db");
  // The server records into it: a copy keeps the cached one as built.
  fs.copyFileSync(source, dbPath);
  console.log(
    `nvidia-oc memory bench on ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.version}; ` +
      `${gpus} GPUs x ${days} days (${mb(fs.statSync(dbPath).size)} MB), ${gpus} simulated GPUs recording at 1 Hz`,
  );
  const startedAt = performance.now();
  const server = await startServer(
    { NVOC_DB_PATH: dbPath, NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: String(gpus), ...serverEnv },
    values.server,
    values["node-flags"]?.split(" ").filter((flag) => flag !== ""),
  );
  console.log(
    `server ${values.server ?? "dist/server.mjs"} ${values.env.join(" ")}, node ${values["node-flags"] ?? NPM_START_FLAGS.join(" ")}`,
  );
  console.log(`ready (listening) after ${(performance.now() - startedAt).toFixed(0)} ms`);
  const { get, close } = plainClient();
  try {
    const fresh = memoryOf(server.pid).rss;
    console.log(`fresh: RSS ${mb(fresh)} MB (${residentParts(server.pid)}); ${await heapBreakdown(server)}`);
    const afterMix = await warmStartAndQueryMix(server, get);
    await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
    const settled = memoryOf(server.pid);
    console.log(
      `  after ${settleSeconds} s settle: RSS ${mb(settled.rss)} MB (${residentParts(server.pid)}); ${await heapBreakdown(server)}`,
    );

    const exports: string[] = [];
    for (const [format, via] of [
      ["csv", "http"],
      ["json", "http"],
      ["csv", "gzip"],
      ["csv", "cli"],
      ["json", "cli"],
    ] as const) {
      const before = memoryOf(server.pid).rss;
      const stopWatching = rssPeakWatcher(server.pid);
      const t = performance.now();
      const bytes =
        via === "cli"
          ? await cliExport(server.url, format, workDir)
          : await get(`${server.url}/api/telemetry/export?format=${format}&hours=48`, via === "gzip");
      const seconds = (performance.now() - t) / 1000;
      const peak = stopWatching();
      const after = memoryOf(server.pid).rss;
      exports.push(
        `export 48 h ${format}${via === "http" ? "" : ` ${via}`} (${mb(bytes)} MB in ${seconds.toFixed(1)} s): RSS ${mb(before)} -> peak ${mb(peak)} -> ${mb(after)} MB ` +
          `(peak +${mb(peak - before)}, after +${mb(after - before)})`,
      );
    }
    const end = memoryOf(server.pid);
    console.log(exports.join("\n"));
    console.log(`  server after the exports: ${await heapBreakdown(server)}`);
    console.log(
      `RSS (MB): fresh ${mb(fresh)}, after the query mix ${mb(afterMix.rss)}, after ${settleSeconds} s settle ${mb(settled.rss)}, ` +
        `peak before the exports ${mb(settled.peak)}, after the exports ${mb(end.rss)} (peak ${mb(end.peak)})`,
    );
  } finally {
    close();
    await server.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/** `nvidia-oc export` of 48 h of every GPU into a file (removed again); its size in bytes. */
async function cliExport(url: string, format: string, workDir: string): Promise<number> {
  const file = path.join(workDir, `export.${format}`);
  const cli = spawn(
    process.execPath,
    [path.join(ROOT, "bin", "nvidia-oc.mjs"), "export", "--format", format, "--hours", "48", "--url", url, "-o", file],
    {
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  const [code] = (await once(cli, "exit")) as [number | null];
  if (code !== 0) throw new Error(`nvidia-oc export exited ${code}`);
  const bytes = fs.statSync(file).size;
  fs.rmSync(file);
  return bytes;
}

/** The first history requests against warm ones, then the query mix; skipped with --exports-only. */
async function warmStartAndQueryMix(server: BenchServer, get: (url: string) => Promise<number>) {
  if (values["exports-only"]) return memoryOf(server.pid);
  const history = `${server.url}/api/telemetry/history?limit=1000&hours=24`;
  const first = await timed(FIRST_REQUESTS, () => get(history));
  await timed(WARM_UPS * 2, () => get(history));
  const warm = await timed(rounds, () => get(history));
  const firstP50 = percentile(first, 50);
  const warmP50 = percentile(warm, 50);
  console.log(
    `warm start: first ${FIRST_REQUESTS} history requests p50 ${ms(firstP50)} ms (p95 ${ms(percentile(first, 95))}, ` +
      `very first ${ms(first[0])}); warm p50 ${ms(warmP50)} ms (p95 ${ms(percentile(warm, 95))}): x${(firstP50 / warmP50).toFixed(2)}`,
  );

  console.log("query mix:");
  await queryMix(server, get);
  const afterMix = memoryOf(server.pid);
  console.log(`  server: RSS ${mb(afterMix.rss)} MB (${residentParts(server.pid)}); ${await heapBreakdown(server)}`);
  return afterMix;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
