/**
 * Fills a database with believable history through the store's real write path,
 * ending now: `npm run db:generate -- --gpus 8 --days 90 [--db path] [--interval-ms 1000]`.
 * Used to try the history pages and by the benchmarks.
 */
import { parseArgs } from "node:util";
import { defaultDbPath } from "../src/server/config";
import { acquireInstanceLock, type InstanceLock } from "../src/server/storage/instance-lock";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { generateHistory } from "./lib/generate-history";

const { values } = parseArgs({
  options: {
    gpus: { type: "string", default: "8" },
    days: { type: "string", default: "1" },
    hours: { type: "string" },
    db: { type: "string", default: process.env.NVOC_DB_PATH || defaultDbPath() },
    "interval-ms": { type: "string", default: "1000" },
    quiet: { type: "boolean", default: false },
  },
});

function positive(name: string, text: string | undefined, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    console.error(`db:generate: --${name} must be a number above 0 and at most ${max} (got ${text})`);
    process.exit(2);
  }
  return value;
}

const gpuCount = Math.round(positive("gpus", values.gpus, 64));
const hours = values.hours !== undefined ? positive("hours", values.hours, 24 * 3650) : positive("days", values.days, 3650) * 24;
const intervalMs = Math.round(positive("interval-ms", values["interval-ms"], 3_600_000));
const ticks = Math.floor((hours * 3_600_000) / intervalMs);
const total = ticks * gpuCount;

// A server recording into the same file would interleave its writes with these.
let lock: InstanceLock;
try {
  lock = acquireInstanceLock(values.db);
} catch (error) {
  console.error(`db:generate: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
const { store } = TelemetryStore.open(values.db);
const started = performance.now();
let lastReport = 0;

function report(written: number, final = false) {
  if (values.quiet) return;
  const elapsed = (performance.now() - started) / 1000;
  const rate = written / Math.max(elapsed, 1e-3);
  const eta = (total - written) / Math.max(rate, 1);
  const line = `${((written / total) * 100).toFixed(1).padStart(5)} %  ${written.toLocaleString("en")} / ${total.toLocaleString("en")} snapshots  ${Math.round(rate).toLocaleString("en")}/s  ETA ${formatSeconds(eta)}`;
  if (process.stdout.isTTY) process.stdout.write(`\r${line}${final ? "\n" : ""}`);
  else console.log(line);
}

function formatSeconds(seconds: number) {
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
    : s >= 60
      ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
      : `${s}s`;
}

const written = generateHistory(store, {
  gpus: gpuCount,
  ticks,
  intervalMs,
  onProgress(done) {
    if (performance.now() - lastReport < 1000) return;
    lastReport = performance.now();
    report(done);
  },
});
store.db.pragma("wal_checkpoint(TRUNCATE)");
report(written, true);
const bytes = store.fileBytes();
store.close();
lock.release();
console.log(
  `wrote ${written.toLocaleString("en")} snapshots of ${gpuCount} GPUs over ${hours} h into ${values.db} ` +
    `(${(bytes / 1048576).toFixed(1)} MiB, ${(bytes / written).toFixed(2)} bytes/snapshot) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
