import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateHistory, type HistoryWindow } from "../../scripts/lib/generate-history";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";

const DAY = 86_400_000;

/**
 * Fills a new database at `dbPath` with `window` of history of `gpus` simulated
 * GPUs through the store's real write path, with its write-ahead log emptied.
 */
export function buildHistoryDatabase(
  dbPath: string,
  gpus: number,
  window: HistoryWindow,
  onProgress?: (written: number, total: number) => void,
): { snapshots: number; seconds: number; bytes: number } {
  for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(dbPath + suffix, { force: true });
  const { store } = TelemetryStore.open(dbPath);
  const started = performance.now();
  const snapshots = generateHistory(store, { gpus, ...window, onProgress });
  store.db.pragma("wal_checkpoint(TRUNCATE)");
  store.close();
  return { snapshots, seconds: (performance.now() - started) / 1000, bytes: fs.statSync(dbPath).size };
}

/** Progress lines on stderr at most every ten seconds, with the rate so far. */
export function progressEvery10s(): (written: number, total: number) => void {
  const started = performance.now();
  let last = started;
  return (written, total) => {
    if (performance.now() - last < 10_000) return;
    last = performance.now();
    console.error(
      `  ${((written / total) * 100).toFixed(0)} %, ${Math.round(written / ((last - started) / 1000)).toLocaleString("en")} snapshots/s`,
    );
  };
}

/**
 * A database holding `days` of history of `gpus` simulated GPUs at 1 Hz,
 * built once into the temp folder and reused; copy it before a server writes to it.
 * `bench` is the name bench/run.ts gives its own, so the benches share one build.
 */
export function cachedHistoryDatabase(gpus: number, days: number, bench: "attack" | "bench" = "attack"): string {
  const cached = path.join(os.tmpdir(), `nvoc-${bench}-history-${gpus}x${days}d.db`);
  if (!fs.existsSync(cached)) {
    console.error(`building ${gpus} GPUs x ${days} days at 1 Hz in ${cached} ...`);
    buildHistoryDatabase(`${cached}.part`, gpus, { ticks: Math.floor((days * DAY) / 1000), intervalMs: 1000, endsAt: Date.now() });
    fs.renameSync(`${cached}.part`, cached);
  }
  return cached;
}
