import type { GpuInfo, GpuSample } from "../../src/telemetry/types";
import { SimulatedGpu, simulatedGpuInfo } from "../../src/server/sources/simulated";

/** Samples of `gpus` simulated GPUs every `stepMs` from `start`, oldest first. */
export function simulatedSamples(opts: { gpus: number; count: number; start: number; stepMs?: number }): {
  infos: GpuInfo[];
  samples: GpuSample[];
} {
  const stepMs = opts.stepMs ?? 1000;
  const gpus = Array.from({ length: opts.gpus }, (_, i) => new SimulatedGpu(simulatedGpuInfo(i)));
  const samples: GpuSample[] = [];
  for (let n = 0; n < opts.count; n++) {
    for (const gpu of gpus) {
      samples.push({ uuid: gpu.info.uuid, index: gpu.info.index, timestamp: opts.start + n * stepMs, ...gpu.step(stepMs) });
    }
  }
  return { infos: gpus.map((g) => g.info), samples };
}

export const infoLookup = (infos: GpuInfo[]) => (uuid: string) => infos.find((i) => i.uuid === uuid);

/** Samples grouped into ticks: those sharing a timestamp, in the order first seen. */
export function groupByTimestamp<T extends { timestamp: number }>(samples: T[]): T[][] {
  const groups = new Map<number, T[]>();
  for (const s of samples) groups.set(s.timestamp, [...(groups.get(s.timestamp) ?? []), s]);
  return [...groups.values()];
}
