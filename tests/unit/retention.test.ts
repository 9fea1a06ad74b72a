import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { prune, type PrunePolicy } from "../../src/server/storage/retention";
import { UNSEALED_ROW_BYTES } from "../../src/server/storage/size-budget";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const DAY = 86_400_000;
const total = (store: TelemetryStore) => [...store.sampleTotals().values()].map((t) => t.records).reduce((a, b) => a + b, 0);

describe("retention and the size cap", () => {
  it("deletes whole chunks past the retention window and reports the count", () => {
    const { store } = TelemetryStore.open(path.join(dir, "age.db"), { chunkMaxRows: 100, slotMs: 600_000 });
    const now = Date.UTC(2026, 10, 26);
    // 300 samples per GPU five days ago, 150 one hour ago.
    const old = simulatedSamples({ gpus: 2, count: 300, start: now - 5 * DAY });
    const fresh = simulatedSamples({ gpus: 2, count: 150, start: now - 3_600_000 });
    store.writeSamples(old.samples, infoLookup(old.infos));
    store.writeSamples(fresh.samples, infoLookup(fresh.infos));
    expect(total(store)).toBe(900);

    const policy: PrunePolicy = { retentionMs: 2 * DAY, maxBytes: 500 * 1024 * 1024, highWater: 0.9, lowWater: 0.7 };
    const result = prune(store, policy, { now });
    expect(result.deletedSamples).toBe(600);
    expect(result.deletedChunks).toBe(6);
    expect(result.reason).toBe("retention");
    expect(total(store)).toBe(300);
    const left = store.readSamples({ from: 0, to: now });
    expect(Math.min(...left.map((s) => s.timestamp))).toBe(now - 3_600_000);

    // Nothing more to do the second time.
    expect(prune(store, policy, { now }).deletedSamples).toBe(0);
    store.close();
  });

  it("drops the oldest data when the file passes 90 % of the cap, and the file shrinks under it", () => {
    const dbPath = path.join(dir, "cap.db");
    const { store } = TelemetryStore.open(dbPath, { chunkMaxRows: 300, slotMs: 3_600_000 });
    const start = Date.UTC(2026, 10, 1);
    // About 2 MB of history for 4 GPUs.
    let written = 0;
    const checkpointedBytes = () => {
      store.db.pragma("wal_checkpoint(TRUNCATE)");
      return store.fileBytes();
    };
    for (let batch = 0; checkpointedBytes() < 2.2 * 1024 * 1024; batch++) {
      const { infos, samples } = simulatedSamples({ gpus: 4, count: 20_000, start: start + batch * 20_000_000 });
      written += store.writeSamples(samples, infoLookup(infos));
    }
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    const bytesBefore = store.fileBytes();
    // The empty file takes 736 KiB (23 pages of 32 KiB): a cap whose low-water mark leaves room for some chunks.
    const maxBytes = 1.25 * 1024 * 1024;
    expect(bytesBefore).toBeGreaterThan(maxBytes);
    const oldestBefore = store.db.prepare("SELECT min(startTs) FROM SampleChunk").pluck().get() as number;

    const policy: PrunePolicy = { retentionMs: 3650 * DAY, maxBytes, highWater: 0.9, lowWater: 0.7 };
    const result = prune(store, policy, { now: start + 400 * DAY });
    expect(result.reason).toBe("size-cap");
    expect(result.bytesBefore).toBe(bytesBefore);
    expect(result.bytesAfter).toBe(store.fileBytes());
    expect(result.bytesAfter).toBeLessThan(0.9 * maxBytes);
    expect(result.deletedSamples).toBe(written - total(store));
    expect(result.deletedSamples).toBeGreaterThan(0);
    // Oldest first: what is left is the newest part of the history.
    const oldestAfter = store.db.prepare("SELECT min(startTs) FROM SampleChunk").pluck().get() as number;
    expect(oldestAfter).toBeGreaterThan(oldestBefore);
    const newest = store.db.prepare("SELECT max(endTs) FROM SampleChunk").pluck().get() as number;
    expect(store.readSamples({ from: newest, to: newest }).length).toBeGreaterThan(0);
    store.close();
  });

  it("leaves a file under the high-water mark alone unless forced, then trims to the low-water mark", () => {
    const { store } = TelemetryStore.open(path.join(dir, "forced.db"), { chunkMaxRows: 300, slotMs: 3_600_000 });
    const { infos, samples } = simulatedSamples({ gpus: 4, count: 30_000, start: Date.UTC(2026, 10, 1) });
    store.writeSamples(samples, infoLookup(infos));
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    const size = store.fileBytes();
    // A cap where the file sits between the low- and high-water marks.
    const policy: PrunePolicy = { retentionMs: 3650 * DAY, maxBytes: Math.ceil(size / 0.8), highWater: 0.9, lowWater: 0.7 };
    const now = Date.UTC(2026, 10, 2);
    expect(prune(store, policy, { now }).deletedSamples).toBe(0);
    const forced = prune(store, policy, { now, force: true });
    expect(forced.reason).toBe("forced");
    expect(forced.deletedSamples).toBeGreaterThan(0);
    expect(forced.bytesAfter).toBeLessThanOrEqual(0.7 * policy.maxBytes + 64 * 1024);
    expect(total(store)).toBe(samples.length - forced.deletedSamples);
    store.close();
  });

  it("keeps room for the write-ahead log and the unsealed rows still to come when trimming", () => {
    const dbPath = path.join(dir, "reserve.db");
    const { store } = TelemetryStore.open(dbPath, { chunkMaxRows: 300, slotMs: 3_600_000 });
    const start = Date.UTC(2026, 10, 1);
    const sealed = simulatedSamples({ gpus: 4, count: 30_000, start });
    store.writeSamples(sealed.samples, infoLookup(sealed.infos));
    // Ten rows per GPU in a later slot: they stay unsealed, with room for 290 more each.
    const open = simulatedSamples({ gpus: 4, count: 10, start: start + 10 * 3_600_000 });
    store.writeSamples(open.samples, infoLookup(open.infos));
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    const size = store.fileBytes();
    const walBytes = 64 * 1024;
    const toCome = 4 * 290 * UNSEALED_ROW_BYTES;
    // The file alone sits below the high-water mark; with what is still to come it does not.
    const policy: PrunePolicy = {
      retentionMs: 3650 * DAY,
      maxBytes: Math.ceil(size / 0.85),
      highWater: 0.9,
      lowWater: 0.7,
      walBytes,
      unsealedRowsPerGpu: 300,
    };
    const result = prune(store, policy, { now: start + 11 * 3_600_000 });
    expect(result.reason).toBe("size-cap");
    expect(result.bytesAfter + walBytes + toCome).toBeLessThanOrEqual(0.7 * policy.maxBytes + 64 * 1024);
    // The unsealed rows themselves are kept.
    expect(store.readSamples({ from: start + 10 * 3_600_000, to: start + 11 * 3_600_000 })).toHaveLength(40);
    store.close();
  });

  it("leaves the write-ahead log to the next prune while a backup's snapshot still reads it, instead of waiting for it", () => {
    const dbPath = path.join(dir, "read-during-prune.db");
    const { store } = TelemetryStore.open(dbPath);
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 100, start: Date.now() - 200_000 });
    store.writeSamples(samples, infoLookup(infos));
    const reader = new Database(dbPath, { readonly: true });
    reader.exec("BEGIN");
    reader.prepare("SELECT count(*) FROM Gpu").get();
    // Written after the reader's snapshot began: the log holds frames the reader does not see.
    store.writeSamples(simulatedSamples({ gpus: 2, count: 1, start: Date.now() - 1000 }).samples, infoLookup(infos));
    // Longer than this test may take: a prune that waited for the reader would fail it.
    store.db.pragma("busy_timeout = 120000");
    const policy: PrunePolicy = { retentionMs: 30 * DAY, maxBytes: 500 * 1024 * 1024, highWater: 0.9, lowWater: 0.7 };

    prune(store, policy);
    expect(fs.statSync(`${dbPath}-wal`).size).toBeGreaterThan(0);
    expect(store.db.pragma("busy_timeout", { simple: true })).toBe(120_000);

    reader.exec("COMMIT");
    reader.close();
    prune(store, policy);
    expect(fs.statSync(`${dbPath}-wal`).size).toBe(0);
    store.close();
  });
});
