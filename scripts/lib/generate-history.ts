import { SimulatedGpu, simulatedGpuInfo } from "../../src/server/sources/simulated";
import type { GpuSample } from "../../src/telemetry/types";
import type { TelemetryStore } from "../../src/server/storage/telemetry-store";

export interface GenerateOptions {
  gpus: number;
  /** Samples per GPU. */
  ticks: number;
  intervalMs: number;
  /** Timestamp of the last tick (default: now). */
  endsAt?: number;
  onProgress?: (written: number, total: number) => void;
}

/**
 * Believable history of simulated GPUs written through the store's real
 * write path in flush-sized batches, ending now. Returns snapshots written.
 */
export function generateHistory(store: TelemetryStore, options: GenerateOptions): number {
  const gpus = Array.from({ length: options.gpus }, (_, i) => new SimulatedGpu(simulatedGpuInfo(i)));
  const infos = new Map(gpus.map((g) => [g.info.uuid, g.info]));
  store.registerGpus([...infos.values()]);
  const total = options.ticks * options.gpus;
  const start = (options.endsAt ?? Date.now()) - (options.ticks - 1) * options.intervalMs;
  let written = 0;
  let batch: GpuSample[] = [];
  for (let tick = 0; tick < options.ticks; tick++) {
    // Real sampling lands a few milliseconds late now and then.
    const timestamp = start + tick * options.intervalMs + ((tick * 7919) % 9);
    for (const gpu of gpus) batch.push({ uuid: gpu.info.uuid, index: gpu.info.index, timestamp, ...gpu.step(options.intervalMs) });
    if (batch.length >= 50_000) {
      written += store.writeSamples(batch, (uuid) => infos.get(uuid));
      batch = [];
      options.onProgress?.(written, total);
    }
  }
  written += store.writeSamples(batch, (uuid) => infos.get(uuid));
  options.onProgress?.(written, total);
  return written;
}
