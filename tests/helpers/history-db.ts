import { SimulatedGpu, simulatedGpuInfo } from "../../src/server/sources/simulated";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { METRIC_KEYS, type GpuInfo, type GpuSample } from "../../src/telemetry/types";

/**
 * A database holding a made-up history, written through the store's own write
 * path: simulated GPUs `indexes` (their UUIDs follow the index), a sample each
 * every `stepMs` from `start`. Every metric is missing (N/A) on some samples,
 * and the clock event reason mask carries a bit no word names on some, so a
 * copy that loses either shows.
 */
export function writeHistory(dbPath: string, opts: { indexes: number[]; count: number; start: number; stepMs?: number }): GpuSample[] {
  const stepMs = opts.stepMs ?? 1000;
  const gpus = opts.indexes.map((index) => new SimulatedGpu(simulatedGpuInfo(index)));
  const samples: GpuSample[] = [];
  for (let n = 0; n < opts.count; n++) {
    for (const gpu of gpus) {
      const sample: GpuSample = { uuid: gpu.info.uuid, index: gpu.info.index, timestamp: opts.start + n * stepMs, ...gpu.step(stepMs) };
      sample[METRIC_KEYS[n % METRIC_KEYS.length]] = null;
      if (n % 7 === 3) sample.clockEventReasons = 0x404;
      samples.push(sample);
    }
  }
  const infos = new Map<string, GpuInfo>(gpus.map((gpu) => [gpu.info.uuid, gpu.info]));
  const { store } = TelemetryStore.open(dbPath);
  try {
    for (let at = 0; at < samples.length; at += 20_000) store.writeSamples(samples.slice(at, at + 20_000), (uuid) => infos.get(uuid));
  } finally {
    store.close();
  }
  return samples;
}

/** Every sample a database holds, oldest first, as the store reads them back. */
export function samplesIn(dbPath: string) {
  const { store } = TelemetryStore.open(dbPath);
  try {
    return store.readSamples({ from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER }).map(({ gpuId: _id, ...sample }) => sample);
  } finally {
    store.close();
  }
}
