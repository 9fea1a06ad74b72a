/** Which GPU an index means: shared by the server and the pages, which read old `?gpu=0` links by it. */

export interface GpuHolder {
  uuid: string;
  index: number;
  /** Epoch ms of its newest reading; null when not known. */
  lastSeen: number | null;
  /** Reported by the collector now. */
  online: boolean;
}

/**
 * The GPU at `index` now: the one the collector reports there, or, when none
 * does, the one that held it last (greatest lastSeen). The pages use the same
 * rule for old `?gpu=0` links.
 */
export function gpuAtIndex<T extends GpuHolder>(gpus: readonly T[], index: number): T | undefined {
  let best: T | undefined;
  for (const gpu of gpus) {
    if (gpu.index !== index) continue;
    const better =
      !best || (gpu.online && !best.online) || (gpu.online === best.online && (gpu.lastSeen ?? -Infinity) > (best.lastSeen ?? -Infinity));
    if (better) best = gpu;
  }
  return best;
}
