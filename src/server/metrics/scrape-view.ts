import os from "node:os";
import type { Collector } from "../collector/collector";
import type { GpuState } from "../collector/gpu-state";
import type { MemoryErrorReader } from "../collector/memory-error-reader";
import type { GpuSource } from "../sources/source";
import {
  placeholderGpuInfo,
  type GpuExtraReadings,
  type GpuInfo,
  type GpuMemoryHealth,
  type GpuSample,
  type GpuXidEvent,
} from "../../telemetry/types";

/**
 * What one scrape sees of the GPUs, worked out once and shared by every family
 * of that scrape: prom-client asks each family in turn within one turn of the
 * event loop, and without this each would ask the collector again.
 */

/** dcgm-exporter's labels of a GPU. */
export const GPU_LABELS = ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "DCGM_FI_DRIVER_VERSION"] as const;
export type GpuLabels = Record<(typeof GPU_LABELS)[number], string>;

export interface ScrapedGpu {
  info: GpuInfo;
  state: GpuState;
  labels: GpuLabels;
  /** The newest reading; null unless the GPU is reporting. */
  sample: GpuSample | null;
  /** From the last listing, which a scrape never waits for; null before the first. */
  memoryHealth: GpuMemoryHealth | null;
  /** The newest readings storage does not keep; null unless the GPU is reporting and the source reads them. */
  extras: GpuExtraReadings | null;
}

export interface ScrapeView {
  /** Every GPU the recorder knows, by index. */
  gpus: ScrapedGpu[];
  byUuid: ReadonlyMap<string, ScrapedGpu>;
  /** The Xid errors the source kept, oldest first; empty where it cannot see them. */
  xidErrors: readonly GpuXidEvent[];
}

export interface ScrapeViewSources {
  collector: Collector;
  memoryHealth: MemoryErrorReader;
  source: GpuSource;
}

/** Runs `work` at most once per turn of the event loop, handing every caller of that turn the same answer. */
export function oncePerTurn<T>(work: () => T): () => T {
  let held: { value: T } | null = null;
  return () => {
    if (held) return held.value;
    held = { value: work() };
    setImmediate(() => (held = null));
    return held.value;
  };
}

export function createScrapeView({ collector, memoryHealth, source }: ScrapeViewSources): () => ScrapeView {
  const hostname = os.hostname();
  return oncePerTurn(() => {
    const infos = new Map(collector.gpus().map((info) => [info.uuid, info]));
    const samples = new Map((collector.latest()?.samples ?? []).map((sample) => [sample.uuid, sample]));
    const health = new Map((memoryHealth.latest()?.gpus ?? []).map((row) => [row.gpuUuid, row]));
    const extras = source.extraReadings?.() ?? new Map<string, GpuExtraReadings>();
    const gpus = collector.status().gpus.map((state): ScrapedGpu => {
      const info = infos.get(state.uuid) ?? { ...placeholderGpuInfo(state.index), uuid: state.uuid, name: "" };
      const reporting = state.state === "reporting";
      return {
        info,
        state,
        labels: {
          gpu: String(state.index),
          UUID: state.uuid,
          pci_bus_id: extras.get(state.uuid)?.pciBusId ?? "",
          device: `nvidia${state.index}`,
          modelName: info.name,
          Hostname: hostname,
          DCGM_FI_DRIVER_VERSION: info.driverVersion ?? "",
        },
        sample: reporting ? (samples.get(state.uuid) ?? null) : null,
        memoryHealth: health.get(state.uuid) ?? null,
        extras: reporting ? (extras.get(state.uuid) ?? null) : null,
      };
    });
    return { gpus, byUuid: new Map(gpus.map((gpu) => [gpu.info.uuid, gpu])), xidErrors: source.xidErrors?.() ?? [] };
  });
}

/** A reporting GPU's energy counter: millijoules since the driver loaded. */
export interface GpuEnergy {
  gpu: ScrapedGpu;
  millijoules: number;
}

/**
 * Each reporting GPU's energy counter, asked of the source once per scrape (a few
 * milliseconds per GPU on NVML); none where the source cannot read one.
 */
export function sharedEnergy(source: GpuSource, view: () => ScrapeView): () => Promise<GpuEnergy[]> {
  return oncePerTurn(async () => {
    if (!source.totalEnergyMj) return [];
    const energy = await source.totalEnergyMj();
    return view().gpus.flatMap((gpu) => {
      const millijoules = energy.get(gpu.info.uuid);
      return gpu.sample && millijoules !== undefined ? [{ gpu, millijoules }] : [];
    });
  });
}
