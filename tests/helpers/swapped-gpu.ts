import { simulatedGpuInfo } from "../../src/server/sources/simulated";
import type { GpuInfo, GpuSample } from "../../src/telemetry/types";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "./samples";

const HOUR = 3_600_000;
const STEP_MS = 60_000;

/** A card that sat at index 0 before the simulated GPUs did: swapped out, or from an imported capture. */
export const RETIRED_GPU: GpuInfo = {
  ...simulatedGpuInfo(0),
  uuid: "GPU-01d0ca4d-0000-4000-8000-00000000beef",
  name: "NVIDIA A100-SXM4-80GB",
};
/** Hotter than a simulated GPU ever gets (at most 58 °C), so a row of it is recognised by its value alone. */
export const RETIRED_TEMPERATURE_C = 99;

export interface SwappedGpuHistory {
  /** The retired GPU's samples, oldest first. */
  retired: GpuSample[];
  /** The current GPU 0's seeded samples (the running server adds more). */
  currentAtZero: GpuSample[];
}

/**
 * A database where two GPUs held index 0: the retired one, registered first,
 * with two hours of samples ending four hours ago, then the simulated GPUs
 * with two hours ending one hour ago.
 */
export function seedSwappedGpu(dbPath: string, now = Date.now()): SwappedGpuHistory {
  const before = simulatedSamples({ gpus: 1, count: (2 * HOUR) / STEP_MS, start: now - 6 * HOUR, stepMs: STEP_MS });
  const retired = before.samples.map((s) => ({ ...s, uuid: RETIRED_GPU.uuid, temperatureC: RETIRED_TEMPERATURE_C }));
  const after = simulatedSamples({ gpus: 2, count: (2 * HOUR) / STEP_MS, start: now - 3 * HOUR, stepMs: STEP_MS });
  const { store } = TelemetryStore.open(dbPath);
  try {
    store.registerGpus([RETIRED_GPU], now - 6 * HOUR);
    store.writeSamples(retired, infoLookup([RETIRED_GPU]));
    store.registerGpus(after.infos, now - 3 * HOUR);
    store.writeSamples(after.samples, infoLookup(after.infos));
  } finally {
    store.close();
  }
  return { retired, currentAtZero: after.samples.filter((s) => s.index === 0) };
}
