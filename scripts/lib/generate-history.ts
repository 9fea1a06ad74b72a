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

export type HistoryWindow = Pick<GenerateOptions, "ticks" | "intervalMs"> & { endsAt: number };

/**
 * The readings of one simulated GPU, oldest first, as generateHistory writes them:
 * deterministic per GPU, so other stores can be filled with exactly the same samples.
 */
export function* simulatedReadings(gpuIndex: number, window: HistoryWindow): Generator<GpuSample, void, undefined> {
  const gpu = new SimulatedGpu(simulatedGpuInfo(gpuIndex));
  const start = window.endsAt - (window.ticks - 1) * window.intervalMs;
  for (let tick = 0; tick < window.ticks; tick++) {
    // Real sampling lands a few milliseconds late now and then.
    const timestamp = start + tick * window.intervalMs + ((tick * 7919) % 9);
    yield { uuid: gpu.info.uuid, index: gpuIndex, timestamp, ...gpu.step(window.intervalMs) };
  }
}

/**
 * Believable history of simulated GPUs written through the store's real
 * write path in flush-sized batches, ending now. Returns snapshots written.
 */
export function generateHistory(store: TelemetryStore, options: GenerateOptions): number {
  const window = { ticks: options.ticks, intervalMs: options.intervalMs, endsAt: options.endsAt ?? Date.now() };
  const infos = new Map(Array.from({ length: options.gpus }, (_, i) => simulatedGpuInfo(i)).map((info) => [info.uuid, info]));
  store.registerGpus([...infos.values()]);
  const readings = Array.from({ length: options.gpus }, (_, i) => simulatedReadings(i, window));
  const total = options.ticks * options.gpus;
  let written = 0;
  let batch: GpuSample[] = [];
  for (let tick = 0; tick < options.ticks; tick++) {
    for (const gpu of readings) {
      const reading = gpu.next();
      if (!reading.done) batch.push(reading.value);
    }
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
