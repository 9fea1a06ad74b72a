import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEP_MS = 10_000;

export interface SeededHistory {
  gpus: number;
  /** Samples written three days back, past a one-day retention: what a prune deletes. */
  oldSamples: number;
  recentSamples: number;
}

/**
 * Writes simulated history for the same GPUs the simulated source reports:
 * the last 12 hours every 10 s, plus one hour three days ago. The store seals
 * chunks of at most 10 minutes, so the old hour sits in chunks of its own.
 */
export function seedDatabase(dbPath: string, now = Date.now()): SeededHistory {
  const gpus = 2;
  const old = simulatedSamples({ gpus, count: HOUR / STEP_MS, start: now - 3 * DAY, stepMs: STEP_MS });
  const recent = simulatedSamples({ gpus, count: (12 * HOUR) / STEP_MS, start: now - 12 * HOUR, stepMs: STEP_MS });
  const { store } = TelemetryStore.open(dbPath);
  try {
    store.registerGpus(old.infos, now - 3 * DAY);
    store.writeSamples([...old.samples, ...recent.samples], infoLookup(old.infos));
  } finally {
    store.close();
  }
  return { gpus, oldSamples: old.samples.length, recentSamples: recent.samples.length };
}
