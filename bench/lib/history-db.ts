import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateHistory } from "../../scripts/lib/generate-history";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";

const DAY = 86_400_000;

/**
 * A database holding `days` of history of `gpus` simulated GPUs at 1 Hz,
 * built once into the temp folder and reused; copy it before a server writes to it.
 * `bench` is the name bench/run.ts gives its own, so the benches share one build.
 */
export function cachedHistoryDatabase(gpus: number, days: number, bench: "attack" | "bench" = "attack"): string {
  const cached = path.join(os.tmpdir(), `nvoc-${bench}-history-${gpus}x${days}d.db`);
  if (!fs.existsSync(cached)) {
    console.error(`building ${gpus} GPUs x ${days} days at 1 Hz in ${cached} ...`);
    const { store } = TelemetryStore.open(`${cached}.part`);
    generateHistory(store, { gpus, ticks: Math.floor((days * DAY) / 1000), intervalMs: 1000 });
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    store.close();
    fs.renameSync(`${cached}.part`, cached);
  }
  return cached;
}
