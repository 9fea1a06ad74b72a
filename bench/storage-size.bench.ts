/**
 * Bytes per stored snapshot: 8 GPUs x one day at 1 Hz written through the
 * store's real write path (batches as the collector flushes them), then the
 * database file size divided by the snapshots stored.
 *
 *   npx tsx bench/storage-size.bench.ts [--gpus 8] [--hours 24]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SimulatedGpu, simulatedGpuInfo } from "../src/server/sources/simulated";
import type { GpuSample } from "../src/server/sources/types";
import { TelemetryStore } from "../src/server/storage/telemetry-store";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const gpuCount = arg("gpus", 8);
const hours = arg("hours", 24);
const seconds = hours * 3600;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-bench-size-"));
const dbPath = path.join(dir, "telemetry.db");
const { store } = TelemetryStore.open(dbPath);
const gpus = Array.from({ length: gpuCount }, (_, i) => new SimulatedGpu(simulatedGpuInfo(i)));
const infos = new Map(gpus.map((g) => [g.info.uuid, g.info]));
store.registerGpus([...infos.values()]);

const start = Date.now() - seconds * 1000;
const started = performance.now();
let batch: GpuSample[] = [];
let written = 0;
for (let s = 0; s < seconds; s++) {
  // 1 Hz with the few milliseconds of jitter real sampling has.
  const timestamp = start + s * 1000 + Math.round(Math.random() * 8);
  for (const gpu of gpus) batch.push({ uuid: gpu.info.uuid, index: gpu.info.index, timestamp, ...gpu.step(1000) });
  if (batch.length >= 10_000) {
    written += store.writeSamples(batch, (uuid) => infos.get(uuid));
    batch = [];
  }
}
written += store.writeSamples(batch, (uuid) => infos.get(uuid));
const elapsed = (performance.now() - started) / 1000;
store.db.pragma("wal_checkpoint(TRUNCATE)");
const bytes = store.fileBytes();
store.close();

console.log(`snapshots stored: ${written} (${gpuCount} GPUs x ${hours} h at 1 Hz)`);
console.log(`database file:    ${(bytes / 1024 / 1024).toFixed(2)} MiB`);
console.log(`bytes/snapshot:   ${(bytes / written).toFixed(2)}  (row-per-sample design: ~150)`);
console.log(`write rate:       ${Math.round(written / elapsed).toLocaleString("en")} snapshots/s (simulation included)`);
fs.rmSync(dir, { recursive: true, force: true });
