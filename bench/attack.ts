/**
 * `node --import tsx bench/attack.ts`: requests that ask one server for as much
 * work as they can, fired in turn at a server sampling 8 simulated GPUs at 1 Hz
 * over a database of several days. For each attack: the answers (status codes),
 * how long the slowest answer took, the longest a tiny health request sent
 * meanwhile had to wait (the event loop held), the largest gap between two
 * stored samples of a GPU, and the server's peak RSS. Each attack gets a server
 * of its own on a fresh copy of the database, so none inherits another's heap.
 *
 * Loopback only, bounded in count and time (each attack gives up after
 * --timeout seconds). Run by hand; figures go to bench/LOAD.md and bench/FAULTS.md.
 *
 *   --days N      history in the database (default 7; cached in the temp folder)
 *   --only NAMES  run only these attacks, comma-separated
 *   --timeout S   per attack (default 60)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { cachedHistoryDatabase } from "./lib/history-db";
import { procStat, startServer, type BenchServer } from "./lib/process";
import { batchPath, HISTORY_FLOOD } from "./lib/trpc-batch";
import { largestGap, storedTimes } from "./lib/stored-gaps";

const { values } = parseArgs({
  options: {
    days: { type: "string", default: "7" },
    only: { type: "string" },
    timeout: { type: "string", default: "60" },
  },
});
const days = Number(values.days);
const timeoutMs = Number(values.timeout) * 1000;
const GPUS = 8;
const INTERVAL_MS = 1000;
const DAY = 86_400_000;
const HOURS = 2160;

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-attack-"));
const history = cachedHistoryDatabase(GPUS, days);
let server: BenchServer;
/** GET with a deadline; the status code, or the reason there was none. */
async function get(url: string): Promise<string> {
  try {
    const res = await fetch(server.url + url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return String(res.status);
  } catch (error) {
    return error instanceof Error ? error.name : "failed";
  }
}

function seriesBatch(span: number, maxPoints: number): string {
  const to = Date.now();
  const metrics = ["temperatureC", "powerDrawW", "gpuUtilizationPct", "memoryUsedMib", "graphicsClockMhz", "memoryClockMhz"];
  return batchPath(
    "telemetry.series",
    times(16, (i) => ({ gpuIndex: i % GPUS, from: to - span, to, metrics, maxPoints })),
  );
}

const times = <T>(n: number, make: (i: number) => T) => Array.from({ length: n }, (_, i) => make(i));

interface Attack {
  name: string;
  run(): Promise<string[]>;
}

const ATTACKS: Attack[] = [
  {
    name: "tRPC batch of 200 x telemetry.history, limit 10000",
    run: async () => [await get(HISTORY_FLOOD)],
  },
  {
    name: "tRPC batch of 16 x telemetry.history, limit 625 (10,000 records), 20 at once",
    run: () =>
      Promise.all(
        times(20, () =>
          get(
            batchPath(
              "telemetry.history",
              times(16, () => ({ hours: HOURS, limit: 625 })),
            ),
          ),
        ),
      ),
  },
  {
    name: "REST history, limit 10000, 50 at once",
    run: () => Promise.all(times(50, () => get(`/api/telemetry/history?limit=10000&hours=${HOURS}`))),
  },
  {
    name: `tRPC batch of 16 x telemetry.series, ${days} days, maxPoints 5000, 6 metrics`,
    run: async () => [await get(seriesBatch(days * DAY, 5000))],
  },
  {
    // 480-second buckets: narrower than a 10-minute chunk, so every sample of the range is decoded.
    name: "tRPC batch of 16 x telemetry.series, 5 days, maxPoints 900, 6 metrics (86,400 values)",
    run: async () => [await get(seriesBatch(5 * DAY, 900))],
  },
  {
    name: "tRPC batch of 200 x telemetry.stats, 2160 h",
    run: async () => [
      await get(
        batchPath(
          "telemetry.stats",
          times(200, (i) => ({ gpuIndex: i % GPUS, hours: HOURS })),
        ),
      ),
    ],
  },
  {
    name: "REST export, all GPUs, 2160 h, CSV, 4 at once",
    run: () => Promise.all(times(4, () => get(`/api/telemetry/export?hours=${HOURS}`))),
  },
  {
    name: "WebSocket stream, 200 clients at interval 0.1 s, for 10 s",
    run: async () => {
      const wsUrl = `${server.url.replace(/^http/, "ws")}/api/telemetry/stream?interval=0.1`;
      const sockets = times(200, () => new WebSocket(wsUrl));
      let messages = 0;
      for (const ws of sockets) ws.on("message", () => messages++).on("error", () => {});
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      for (const ws of sockets) ws.terminate();
      return [`${messages} messages`];
    },
  },
];

const only = values.only?.split(",").map((s) => s.trim());
const results: Array<{ name: string; answers: string[]; seconds: number; probeMs: number; gapMs: number; rss: number }> = [];
for (const [i, attack] of ATTACKS.entries()) {
  if (only && !only.some((o) => attack.name.includes(o) || o === String(i + 1))) continue;
  const dbPath = path.join(workDir, `attack-${i + 1}.db`);
  fs.copyFileSync(history, dbPath);
  server = await startServer({
    NVOC_DB_PATH: dbPath,
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: String(GPUS),
    NVOC_INTERVAL_MS: String(INTERVAL_MS),
  });
  await new Promise((resolve) => setTimeout(resolve, 3000));

  // A tiny request sent over and over: how long it waits is how long the event loop was held.
  let probing = true;
  let probeMs = 0;
  const probeLoop = (async () => {
    while (probing) {
      const t = performance.now();
      await get("/api/trpc/health.status");
      probeMs = Math.max(probeMs, performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  let rss = procStat(server.pid).rssBytes;
  const rssWatch = setInterval(() => (rss = Math.max(rss, procStat(server.pid).rssBytes)), 100);

  const from = Date.now();
  const answers = await attack.run();
  const to = Date.now();
  // Let the sampling catch up, so a gap the attack caused ends before the server stops.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  probing = false;
  await probeLoop;
  clearInterval(rssWatch);
  await server.stop();
  const stored = await storedTimes(dbPath, from - 3000, Date.now());
  results.push({ name: attack.name, answers, seconds: (to - from) / 1000, probeMs, gapMs: largestGap(stored.byGpu, from, to), rss });
  console.error(`${attack.name}: ${summarize(answers)} in ${((to - from) / 1000).toFixed(1)} s`);
}

const fmt = (n: number, digits = 1) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
function summarize(answers: string[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1);
  return [...counts].map(([answer, n]) => (n > 1 ? `${n} x ${answer}` : answer)).join(", ");
}
const cpu = os.cpus();
console.log(
  `machine: ${cpu.length} x ${cpu[0]?.model.trim()}, Node ${process.version}; ${GPUS} simulated GPUs at ${INTERVAL_MS} ms, ${days} days of history`,
);
console.log("| attack | answers | slowest answer (s) | longest health probe (s) | largest stored gap (s) | peak RSS (MB) |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of results) {
  console.log(
    `| ${r.name} | ${summarize(r.answers)} | ${fmt(r.seconds)} | ${fmt(r.probeMs / 1000, 2)} | ${fmt(r.gapMs / 1000, 2)} | ${fmt(r.rss / 2 ** 20, 0)} |`,
  );
}
fs.rmSync(workDir, { recursive: true, force: true });
