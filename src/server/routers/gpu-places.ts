import type { Context } from "../trpc/context";
import type { TelemetryStore } from "../storage/telemetry-store";

/** Where a stored GPU is now: its index (null for a GPU id never stored) and UUID. */
export interface GpuPlace {
  gpuIndex: number | null;
  gpuUuid: string | null;
}

/**
 * Each stored GPU's place by its id. Where the collector reports a GPU now is
 * where it is, whatever its row last said (a card moved to another slot).
 */
export function gpuPlaces(ctx: Pick<Context, "collector">, store: TelemetryStore): (gpuId: number) => GpuPlace {
  const gpus = new Map(store.gpus().map((gpu) => [gpu.id, gpu]));
  const online = new Map(ctx.collector.gpus().map((gpu) => [gpu.uuid, gpu.index]));
  return (gpuId) => {
    const gpu = gpus.get(gpuId);
    return { gpuIndex: gpu ? (online.get(gpu.uuid) ?? gpu.index) : null, gpuUuid: gpu?.uuid ?? null };
  };
}
