import { createLogger } from "../../src/server/logger";
import { DEFAULT_WATER_MARKS } from "../../src/server/storage/retention";
import { StorageManager } from "../../src/server/storage/storage-manager";

/** Each GPU's stored sample times (sorted) between `from` and `to`, read from a server's database once it has stopped. */
export async function storedTimes(dbPath: string, from: number, to: number): Promise<{ count: number; byGpu: Map<number, number[]> }> {
  const storage = new StorageManager({
    dbPath,
    policy: { retentionMs: 90 * 86_400_000, maxBytes: 2 ** 40, ...DEFAULT_WATER_MARKS },
    pruneIntervalMs: 3_600_000,
    log: createLogger("silent"),
  });
  storage.open();
  const stored = storage.requireStore().readSamples({ from, to });
  await storage.close();
  const byGpu = new Map<number, number[]>();
  for (const s of stored) (byGpu.get(s.index) ?? byGpu.set(s.index, []).get(s.index)!).push(s.timestamp);
  for (const times of byGpu.values()) times.sort((a, b) => a - b);
  return { count: stored.length, byGpu };
}

/**
 * The largest step between two stored samples of a GPU that overlaps [from, to]:
 * how long sampling stood still while something ran in that window.
 */
export function largestGap(byGpu: Map<number, number[]>, from = -Infinity, to = Infinity): number {
  let largest = 0;
  for (const times of byGpu.values()) {
    for (let i = 1; i < times.length; i++) {
      if (times[i] < from || times[i - 1] > to) continue;
      largest = Math.max(largest, times[i] - times[i - 1]);
    }
  }
  return largest;
}
