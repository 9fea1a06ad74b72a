import { Collector } from "../../src/server/collector/collector";
import { createLogger } from "../../src/server/logger";
import type { GpuSource } from "../../src/server/sources/source";
import { StorageManager } from "../../src/server/storage/storage-manager";

export const silentLog = createLogger("silent");

/** A source wired to a real collector and a real SQLite store, as the server does it. */
export async function startPipeline(source: GpuSource, dbPath: string, intervalMs = 100) {
  const storage = new StorageManager({
    dbPath,
    policy: { retentionMs: 90 * 86_400_000, maxBytes: 500 * 1024 * 1024, highWater: 0.9, lowWater: 0.7 },
    pruneIntervalMs: 300_000,
    log: silentLog,
  });
  storage.open();
  const collector = new Collector({ source, storage, log: silentLog, intervalMs });
  await collector.start();
  return {
    collector,
    storage,
    async stop() {
      await collector.stop();
      await storage.close();
    },
  };
}
