import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Collector, type Snapshot } from "../../src/server/collector/collector";
import { StorageManager } from "../../src/server/storage/storage-manager";
import { ManualSource } from "../helpers/manual-source";
import { simulatedSamples } from "../helpers/samples";
import { silentLog } from "../helpers/pipeline";
import { waitFor } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();

function setup(dbPath: string, maxPending = 1000) {
  const storage = new StorageManager({
    dbPath,
    policy: { retentionMs: 90 * 86_400_000, maxBytes: 500 * 1024 * 1024, highWater: 0.9, lowWater: 0.7 },
    pruneIntervalMs: 300_000,
    retryIntervalMs: 100,
    log: silentLog,
  });
  storage.open();
  const source = new ManualSource();
  // A long flush interval: these tests flush by hand.
  const collector = new Collector({ source, storage, log: silentLog, intervalMs: 100_000, flushIntervalMs: 100_000, maxPending });
  return { storage, source, collector };
}

describe("collector", () => {
  it("streams the snapshots collected after snapshotsFromNow is called, in order, until aborted or left", async () => {
    const { storage, source, collector } = setup(path.join(dir, "from-now.db"));
    await collector.start();
    const { infos, samples } = simulatedSamples({ gpus: 1, count: 4, start: 1_700_000_000_000 });
    source.sink!.gpus(infos);
    await source.sink!.samples(samples.slice(0, 1));
    const abort = new AbortController();
    const stream = collector.snapshotsFromNow(abort.signal);
    // Collected before the first read, after the call: not missed.
    await source.sink!.samples(samples.slice(1, 2));
    await source.sink!.samples(samples.slice(2, 3));
    const seen: number[] = [];
    const reading = (async () => {
      for await (const snapshot of stream) seen.push(snapshot.samples[0].timestamp);
    })();
    await source.sink!.samples(samples.slice(3, 4));
    await waitFor(() => (seen.length === 3 ? true : undefined), 5000, "three snapshots");
    abort.abort();
    await reading;
    expect(seen).toEqual(samples.slice(1).map((sample) => sample.timestamp));
    expect(collector.events.listenerCount("snapshot")).toBe(0);
    // Left without an abort: listening stops too.
    const left = collector.snapshotsFromNow(new AbortController().signal);
    expect(collector.events.listenerCount("snapshot")).toBe(1);
    await left.return?.();
    expect(collector.events.listenerCount("snapshot")).toBe(0);
    expect(await left.next()).toEqual({ value: undefined, done: true });
    await collector.stop();
    await storage.close();
  });

  it("hands every tick to subscribers at once and stores it on flush", async () => {
    const { storage, source, collector } = setup(path.join(dir, "fanout.db"));
    await collector.start();
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 5, start: 1_700_000_000_000 });
    source.sink!.gpus(infos);
    const seen: Snapshot[] = [];
    const unsubscribe = collector.subscribe((s) => seen.push(s));
    // Not awaited: delivery must be synchronous, before any write.
    for (let i = 0; i < samples.length; i += 2) void source.sink!.samples(samples.slice(i, i + 2));
    expect(seen.map((s) => s.samples.length)).toEqual([2, 2, 2, 2, 2]);
    expect(seen.map((s) => s.id)).toEqual([1, 2, 3, 4, 5]);
    expect(collector.status()).toMatchObject({ collected: 10, stored: 0, pending: 10 });
    expect(collector.flush()).toBe(10);
    expect(collector.status()).toMatchObject({ stored: 10, pending: 0 });
    expect(collector.snapshotsAfter(3).map((s) => s.id)).toEqual([4, 5]);
    unsubscribe();
    await collector.stop();
    await storage.close();
  });

  it("counts a failed write, keeps the stream going and stores the batch once writing works again", async () => {
    const { storage, source, collector } = setup(path.join(dir, "failing.db"));
    await collector.start();
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 10, start: 1_700_000_000_000 });
    source.sink!.gpus(infos);
    const db = storage.requireStore().db;
    const recentSchema = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'RecentSample'").pluck().get() as string;
    db.exec("DROP TABLE RecentSample");

    let delivered = 0;
    collector.subscribe(() => delivered++);
    await source.sink!.samples(samples.slice(0, 10));
    expect(collector.flush()).toBe(0);
    await source.sink!.samples(samples.slice(10));
    expect(delivered).toBe(2);
    expect(collector.status()).toMatchObject({ writeFailures: 1, stored: 0, pending: 20 });
    expect(collector.status().lastError).toMatch(/writing 10 samples failed: .*RecentSample/);

    db.exec(recentSchema);
    expect(collector.flush()).toBe(20);
    expect([...storage.requireStore().sampleTotals().values()].map((t) => t.records)).toEqual([10, 10]);
    await collector.stop();
    await storage.close();
  });

  it("bounds the pending buffer while the database is down, then stores what it kept once it opens", async () => {
    const blocker = path.join(dir, "blocked");
    fs.writeFileSync(blocker, "not a folder");
    const { storage, source, collector } = setup(path.join(blocker, "telemetry.db"), 30);
    await collector.start();
    expect(storage.store).toBeNull();
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 25, start: 1_700_000_000_000 });
    source.sink!.gpus(infos);
    for (let i = 0; i < samples.length; i += 2) await source.sink!.samples(samples.slice(i, i + 2));
    expect(collector.flush()).toBe(0);
    expect(collector.status()).toMatchObject({ collected: 50, pending: 30, dropped: 20, stored: 0 });

    fs.rmSync(blocker);
    await waitFor(() => storage.store ?? undefined, 10_000, "the database to open");
    expect(collector.flush()).toBe(30);
    // The newest 30 were kept: the oldest were the ones dropped.
    const stored = storage.requireStore().readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(stored[0].timestamp).toBe(samples[20].timestamp);
    expect(stored.at(-1)!.timestamp).toBe(samples.at(-1)!.timestamp);
    await collector.stop();
    await storage.close();
  });
});
