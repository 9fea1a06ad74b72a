/**
 * `npm run bench:load`: the server under 100 live subscribers (half tRPC SSE,
 * half plain WebSocket) plus 50 mixed API requests a second for 60 s, sampling
 * 8 simulated GPUs at 1 Hz. Reports errors, events delivered, p50/p95 latency
 * per request kind, the server's CPU and memory, and the largest gap between
 * stored samples of a GPU. Exits 1 on any error or a gap over twice the interval.
 *
 *   --seconds N --subscribers N --rate N   (defaults 60, 100, 50)
 *   --smoke                                a few seconds at a small load (CI)
 *   --attack                               also send the oversized batch (200 x 10,000 history records) every 5 s,
 *                                          to a database that starts with 7 days of history
 *   --write                                also write the table to bench/LOAD.md
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { createTelemetryClient } from "../src/client/telemetry-client";
import { percentile, procStat, startServer } from "./lib/process";
import { cachedHistoryDatabase } from "./lib/history-db";
import { largestGap, storedTimes } from "./lib/stored-gaps";
import { HISTORY_FLOOD } from "./lib/trpc-batch";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    seconds: { type: "string" },
    subscribers: { type: "string" },
    rate: { type: "string" },
    write: { type: "boolean", default: false },
    attack: { type: "boolean", default: false },
  },
});
const smoke = values.smoke;
const seconds = Number(values.seconds ?? (smoke ? 4 : 60));
const subscriberCount = Number(values.subscribers ?? (smoke ? 10 : 100));
const rate = Number(values.rate ?? (smoke ? 10 : 50));
const GPUS = 8;
const INTERVAL_MS = 1000;
const HOUR = 3_600_000;

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-load-"));
const dbPath = path.join(workDir, "telemetry.db");
if (values.attack) fs.copyFileSync(cachedHistoryDatabase(GPUS, 7), dbPath);
const server = await startServer({
  NVOC_DB_PATH: dbPath,
  NVOC_SOURCE: "simulated",
  NVOC_SIM_GPUS: String(GPUS),
  NVOC_INTERVAL_MS: String(INTERVAL_MS),
});
const client = createTelemetryClient(server.url);
const errors: string[] = [];
const noteError = (what: string, error: unknown) => {
  if (errors.length < 20) errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  else errors.length++;
};

// Live subscribers: half over tRPC's SSE subscription, half over the plain WebSocket stream.
interface Subscriber {
  kind: "SSE" | "WebSocket";
  events: number;
  /** SSE ids skipped between two events: snapshots this subscriber never got. */
  missed: number;
  close(): void;
}
const subscribers: Subscriber[] = [];
for (let i = 0; i < subscriberCount; i++) {
  if (i % 2 === 0) {
    const sub: Subscriber = { kind: "SSE", events: 0, missed: 0, close: () => {} };
    let lastId: number | null = null;
    const subscription = client.telemetry.live.subscribe(undefined, {
      onData: ({ id }) => {
        const n = Number(id);
        if (lastId !== null && n > lastId + 1) sub.missed += n - lastId - 1;
        lastId = n;
        sub.events++;
      },
      onError: (error) => noteError("SSE subscriber", error),
    });
    sub.close = () => subscription.unsubscribe();
    subscribers.push(sub);
  } else {
    const sub: Subscriber = { kind: "WebSocket", events: 0, missed: 0, close: () => {} };
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/telemetry/stream`);
    ws.on("message", () => sub.events++);
    ws.on("error", (error) => noteError("WebSocket subscriber", error));
    sub.close = () => ws.close();
    subscribers.push(sub);
  }
}

// Mixed API requests, sent on a fixed schedule whatever the answers take (an open loop).
const requests: Array<[string, () => Promise<unknown>]> = [
  ["REST history, 100 records", () => get("/api/telemetry/history?limit=100&hours=1")],
  ["REST stats 1 h", () => get("/api/telemetry/stats/0?hours=1")],
  ["REST database stats", () => get("/api/telemetry/database/stats")],
  [
    "tRPC series 1 h, 300 buckets",
    () =>
      client.telemetry.series.query({
        gpuIndex: 1,
        from: Date.now() - HOUR,
        to: Date.now(),
        metrics: ["temperatureC", "powerDrawW"],
        maxPoints: 300,
      }),
  ],
  ["tRPC database.stats", () => client.database.stats.query()],
  ["tRPC health.status", () => client.health.status.query()],
];
async function get(p: string) {
  const res = await fetch(server.url + p);
  const body = await res.text();
  if (!res.ok) throw new Error(`${p}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return body;
}
const latencies = new Map<string, number[]>(requests.map(([name]) => [name, []]));
const inFlight = new Set<Promise<unknown>>();
let sent = 0;

const before = procStat(server.pid);
const startedAt = Date.now();
let peakRss = before.rssBytes;
const ticker = setInterval(() => {
  const [name, request] = requests[sent++ % requests.length];
  const t = performance.now();
  const done = request().then(
    () => latencies.get(name)!.push(performance.now() - t),
    (error) => noteError(name, error),
  );
  inFlight.add(done);
  void done.finally(() => inFlight.delete(done));
}, 1000 / rate);
// The attack's answers are counted by status: a refusal is the expected answer, not an error.
const attackAnswers = new Map<string, number>();
const attacker = values.attack
  ? setInterval(() => {
      const done = fetch(server.url + HISTORY_FLOOD, { signal: AbortSignal.timeout(60_000) }).then(
        async (res) => {
          await res.arrayBuffer();
          return String(res.status);
        },
        (error: Error) => error.name,
      );
      const counted = done.then((answer) => void attackAnswers.set(answer, (attackAnswers.get(answer) ?? 0) + 1));
      inFlight.add(counted);
      void counted.finally(() => inFlight.delete(counted));
    }, 5000)
  : null;
const memoryWatch = setInterval(() => (peakRss = Math.max(peakRss, procStat(server.pid).rssBytes)), 1000);

await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(ticker);
if (attacker) clearInterval(attacker);
clearInterval(memoryWatch);
await Promise.all(inFlight);
const endedAt = Date.now();
const after = procStat(server.pid);
for (const sub of subscribers) sub.close();
await server.stop();

// Every GPU's stored samples over the run: the largest step between two in a row.
const stored = await storedTimes(dbPath, startedAt, endedAt);
const largest = largestGap(stored.byGpu);

const fmt = (n: number, digits = 1) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const expectedEvents = (seconds * 1000) / INTERVAL_MS;
const lines = [
  `| figure | measured |`,
  `| --- | --- |`,
  `| run | ${seconds} s, ${subscriberCount} live subscribers (${subscriberCount / 2} SSE, ${subscriberCount / 2} WebSocket), ${rate} requests/s, ${GPUS} GPUs at ${INTERVAL_MS} ms |`,
  ...(values.attack
    ? [
        `| the oversized batch every 5 s (200 × history, 10,000 records each): answers | ${[...attackAnswers].map(([answer, n]) => `${n} × ${answer}`).join(", ")} |`,
      ]
    : []),
  `| requests sent / answered | ${sent.toLocaleString("en")} / ${[...latencies.values()].reduce((n, l) => n + l.length, 0).toLocaleString("en")} |`,
  `| errors | ${errors.length} |`,
  ...(["SSE", "WebSocket"] as const).map((kind) => {
    const group = subscribers.filter((s) => s.kind === kind);
    const events = group.map((s) => s.events);
    return `| ${kind} events per subscriber, min / max (about ${fmt(expectedEvents, 0)} expected) | ${Math.min(...events)} / ${Math.max(...events)}${kind === "SSE" ? `, ${group.reduce((n, s) => n + s.missed, 0)} snapshots skipped` : ""} |`;
  }),
  ...[...latencies].map(
    ([name, times]) =>
      `| ${name} (ms, p50 / p95) | ${times.length ? `${fmt(percentile(times, 50), 2)} / ${fmt(percentile(times, 95), 2)}` : "none answered"} |`,
  ),
  `| server CPU over the run | ${fmt(((after.cpuSeconds - before.cpuSeconds) / ((endedAt - startedAt) / 1000)) * 100)} % of one core |`,
  `| server peak RSS | ${fmt(peakRss / 2 ** 20, 0)} MB |`,
  `| stored samples / largest gap between two of a GPU | ${stored.count.toLocaleString("en")} / ${fmt(largest / 1000, 2)} s (limit ${fmt((2 * INTERVAL_MS) / 1000, 0)} s) |`,
];
console.log(lines.join("\n"));
if (errors.length) console.error(`errors:\n  ${errors.join("\n  ")}`);

if (values.write) {
  const cpu = os.cpus();
  const target = path.join(path.dirname(fileURLToPath(import.meta.url)), "LOAD.md");
  const text = [
    "# Load",
    "",
    `\`npm run bench:load\` on ${new Date().toISOString().slice(0, 10)}, ${cpu.length} × ${cpu[0]?.model.trim()}, Node ${process.version}. The load generator runs on the same machine and shares its cores.`,
    "",
    ...lines,
    "",
  ].join("\n");
  fs.writeFileSync(target, text);
}
fs.rmSync(workDir, { recursive: true, force: true });
const failed = errors.length > 0 || largest > 2 * INTERVAL_MS || stored.count === 0;
process.exit(failed ? 1 : 0);
