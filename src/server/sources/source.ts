import type { GpuExtraReadings, GpuInfo, GpuMemoryHealth, GpuProcess, GpuSample, GpuXidEvent } from "../../telemetry/types";

/** What a source reports about itself; shown in every status the API gives. */
export interface SourceStatus {
  /** `nvml`, `nvidia-smi`, `simulated` or `replay`. */
  kind: SourceKind;
  /** True when the data is not from a real GPU read right now (simulated or replayed). */
  synthetic: boolean;
  /** Human description, e.g. the replayed file or the nvidia-smi command. */
  detail: string;
  running: boolean;
  restarts: number;
  /** Lines or readings that could not be parsed and were skipped, or NVML readings answered with an unexpected error. */
  badLines: number;
  lastError: string | null;
  lastErrorAt: number | null;
}

export type SourceKind = "nvml" | "nvidia-smi" | "simulated" | "replay";

/**
 * Receives what a source produces. `samples` holds one tick: one sample per GPU
 * that reported (a source may deliver several ticks in one call when replaying
 * in bulk; each sample carries its own timestamp).
 */
export interface SourceSink {
  gpus(infos: GpuInfo[]): void;
  /**
   * `faults` names the GPUs of this batch that answered with an error instead
   * of readings (uuid to the error, e.g. "GPU is lost"); their samples hold no values.
   */
  samples(samples: GpuSample[], faults?: ReadonlyMap<string, string>): void | Promise<void>;
  /** The source has finished for good (a replay file ended without looping). */
  ended?(): void;
}

export interface GpuSource {
  start(sink: SourceSink): Promise<void>;
  stop(): Promise<void>;
  status(): SourceStatus;
  /**
   * The compute processes on its GPUs right now; absent when the source cannot
   * know (a replayed file). Rejects when asking failed.
   */
  processes?(): Promise<GpuProcess[]>;
  /** Each GPU's energy counter (millijoules since the driver loaded) by uuid, where the source can read one. */
  totalEnergyMj?(): Promise<ReadonlyMap<string, number>>;
  /** Each GPU's memory error counters now; absent when the source cannot know. Rejects when asking failed. */
  memoryHealth?(): Promise<GpuMemoryHealth[]>;
  /** Each GPU's newest readings that storage does not keep, by uuid, held in memory: cheap enough for every scrape. */
  extraReadings?(): ReadonlyMap<string, GpuExtraReadings>;
  /** The Xid errors the driver reported since the source started (the newest hundred), oldest first; absent when the source cannot know. */
  xidErrors?(): readonly GpuXidEvent[];
}
