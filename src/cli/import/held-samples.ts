import type { GpuSample } from "../../telemetry/types";
import type { TelemetryStore } from "../../server/storage/telemetry-store";

/**
 * Which samples of an import the store holds already (same GPU, same
 * millisecond), so that importing a file twice, or one that overlaps what was
 * recorded, adds nothing twice; repeats inside the file are dropped as well.
 *
 * A log runs forward in time: a sample newer than the newest one its GPU has
 * (stored before, or taken earlier in this import) cannot be held, and costs
 * one comparison. Only the others are looked up in the store.
 */
export class HeldSamples {
  /** Per GPU uuid, the newest time held or taken so far (in a box: one lookup a sample). */
  private readonly newest = new Map<string, { time: number }>();

  constructor(private readonly store: TelemetryStore) {
    const totals = store.sampleTotals();
    for (const gpu of store.gpus()) {
      const newest = totals.get(gpu.id)?.newest;
      if (newest !== null && newest !== undefined) this.newest.set(gpu.uuid, { time: newest });
    }
  }

  /** The samples of `batch` the store does not hold, in their order; each repeat after the first is dropped. */
  fresh(batch: readonly GpuSample[]): GpuSample[] {
    const fresh: GpuSample[] = [];
    let older: Map<string, number[]> | null = null;
    for (let i = 0; i < batch.length; i++) {
      const sample = batch[i];
      const newest = this.newest.get(sample.uuid);
      if (newest === undefined) {
        this.newest.set(sample.uuid, { time: sample.timestamp });
        fresh.push(sample);
      } else if (sample.timestamp > newest.time) {
        newest.time = sample.timestamp;
        fresh.push(sample);
      } else {
        older ??= new Map();
        (older.get(sample.uuid) ?? older.set(sample.uuid, []).get(sample.uuid)!).push(i);
      }
    }
    if (older === null) return fresh;
    return this.withOlder(batch, fresh, older);
  }

  /** `fresh` and those of the older samples (positions in `batch`, per uuid) held neither in the store nor earlier in the batch. */
  private withOlder(batch: readonly GpuSample[], fresh: GpuSample[], older: Map<string, number[]>): GpuSample[] {
    const taken = new Set<GpuSample>(fresh);
    for (const [uuid, positions] of older) {
      // A newer sample is newer than every one before it: all of them can count as earlier than the older ones.
      const seen = new Set<number>();
      for (const sample of fresh) if (sample.uuid === uuid) seen.add(sample.timestamp);
      let from = Infinity;
      let to = -Infinity;
      for (const i of positions) {
        from = Math.min(from, batch[i].timestamp);
        to = Math.max(to, batch[i].timestamp);
      }
      const gpuId = this.store.gpuByUuid(uuid)?.id;
      if (gpuId !== undefined) for (const stored of this.store.readSamples({ gpuIds: [gpuId], from, to })) seen.add(stored.timestamp);
      for (const i of positions) {
        const sample = batch[i];
        if (seen.has(sample.timestamp)) continue;
        seen.add(sample.timestamp);
        taken.add(sample);
      }
    }
    return batch.filter((sample) => taken.has(sample));
  }
}
