import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { PAGE_SIZE } from "../../src/server/storage/database";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { METRIC_KEYS, type GpuSample } from "../../src/telemetry/types";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const options = { chunkMaxRows: 50, slotMs: 600_000 };

function metricsOf(s: GpuSample) {
  return Object.fromEntries(METRIC_KEYS.map((k) => [k, s[k]]));
}

describe("TelemetryStore", () => {
  it("creates a missing folder and file and applies the migrations", () => {
    const dbPath = path.join(dir, "nested", "deeper", "telemetry.db");
    const { store, appliedMigrations } = TelemetryStore.open(dbPath, options);
    expect(fs.existsSync(dbPath)).toBe(true);
    expect(appliedMigrations.length).toBeGreaterThan(0);
    expect(store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    store.close();
    const again = TelemetryStore.open(dbPath, options);
    expect(again.appliedMigrations).toEqual([]);
    again.store.close();
  });

  it("stores every sample exactly, across sealed chunks and open rows, and after reopening", () => {
    const dbPath = path.join(dir, "roundtrip.db");
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 137, start: 1_700_000_000_000 });
    samples[5] = { ...samples[5], temperatureC: null, powerDrawW: null }; // a card that stopped reporting
    const { store } = TelemetryStore.open(dbPath, options);
    // Written in uneven batches, like flushes of a live collector.
    for (let i = 0; i < samples.length; i += 33) store.writeSamples(samples.slice(i, i + 33), infoLookup(infos));
    const sealed = store.db.prepare("SELECT count(*) AS n, sum(rowCount) AS rows FROM SampleChunk").get() as { n: number; rows: number };
    expect(sealed).toEqual({ n: 4, rows: 200 }); // 137 per GPU = 2 chunks of 50 + 37 open, per GPU
    expect(store.db.prepare("SELECT count(*) FROM RecentSample").pluck().get()).toBe(74);
    store.close();

    const reopened = TelemetryStore.open(dbPath, options).store;
    const read = reopened.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(read).toHaveLength(samples.length);
    const byKey = new Map(read.map((r) => [`${r.uuid}@${r.timestamp}`, r]));
    for (const s of samples) {
      const stored = byKey.get(`${s.uuid}@${s.timestamp}`);
      expect(stored, `sample ${s.uuid} at ${s.timestamp}`).toBeDefined();
      expect(metricsOf(stored!)).toEqual(metricsOf(s));
    }
    expect(byKey.get(`${samples[5].uuid}@${samples[5].timestamp}`)!.temperatureC).toBeNull();
    expect([...reopened.sampleTotals().values()].map((t) => t.records)).toEqual([137, 137]);
    // More writes after reopening keep sealing from where it left off.
    const more = simulatedSamples({ gpus: 2, count: 20, start: 1_700_000_200_000 });
    reopened.writeSamples(more.samples, infoLookup(more.infos));
    expect([...reopened.sampleTotals().values()].map((t) => t.records)).toEqual([157, 157]);
    expect(reopened.db.prepare("SELECT count(*) FROM SampleChunk").pluck().get()).toBe(6);
    reopened.close();
  });

  it("keeps an import's open rows in memory between batches and writes them as open rows at its end or at close", () => {
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 137, start: 1_700_000_000_000 });
    const written = (dbPath: string, finish: (store: TelemetryStore) => void) => {
      const { store } = TelemetryStore.open(dbPath, options);
      for (let i = 0; i < samples.length; i += 33) {
        store.writeImportBatch(samples.slice(i, i + 33), infoLookup(infos), { storable: false, openRowsInMemory: true });
      }
      expect(store.db.prepare("SELECT count(*) FROM RecentSample").pluck().get()).toBe(0);
      // Read as any open rows are, kept in memory or not.
      expect(store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER })).toHaveLength(samples.length);
      finish(store);
      const reopened = TelemetryStore.open(dbPath, options).store;
      const read = reopened.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
      expect(reopened.db.prepare("SELECT count(*) FROM RecentSample").pluck().get()).toBe(74);
      reopened.close();
      return read;
    };
    const persisted = written(path.join(dir, "import-open-rows.db"), (store) => {
      store.persistOpenRows();
      expect(store.db.prepare("SELECT count(*) FROM RecentSample").pluck().get()).toBe(74);
      // Written once: a second call adds nothing.
      store.persistOpenRows();
      expect(store.db.prepare("SELECT count(*) FROM RecentSample").pluck().get()).toBe(74);
      store.close();
    });
    const closed = written(path.join(dir, "import-open-rows-closed.db"), (store) => store.close());
    const { store: live } = TelemetryStore.open(path.join(dir, "import-open-rows-live.db"), options);
    for (let i = 0; i < samples.length; i += 33) live.writeSamples(samples.slice(i, i + 33), infoLookup(infos));
    const expected = live.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    live.close();
    expect(persisted).toEqual(expected);
    expect(closed).toEqual(expected);
  });

  it("rewrites a database made with smaller pages in larger ones once, keeping every sample", () => {
    const dbPath = path.join(dir, "small-pages.db");
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 137, start: 1_700_000_000_000 });
    const { store } = TelemetryStore.open(dbPath, options);
    store.writeSamples(samples, infoLookup(infos));
    const before = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    store.close();
    // As earlier builds made it: 8 KiB pages.
    const raw = new Database(dbPath);
    raw.pragma("journal_mode = DELETE");
    raw.pragma("page_size = 8192");
    raw.exec("VACUUM");
    raw.pragma("journal_mode = WAL");
    expect(raw.pragma("page_size", { simple: true })).toBe(8192);
    raw.close();

    const reopened = TelemetryStore.open(dbPath, options);
    expect(reopened.pageSizeChange).toEqual({ from: 8192, to: PAGE_SIZE, error: null });
    expect(reopened.store.db.pragma("page_size", { simple: true })).toBe(PAGE_SIZE);
    expect(reopened.store.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(reopened.store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER })).toEqual(before);
    reopened.store.close();
    const third = TelemetryStore.open(dbPath, options);
    expect(third.pageSizeChange).toBeNull();
    third.store.close();
  });

  it("reads a time range per GPU", () => {
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 120, start: 1_700_000_000_000 });
    const { store } = TelemetryStore.open(path.join(dir, "range.db"), options);
    store.writeSamples(samples, infoLookup(infos));
    const gpu1 = store.gpus().find((g) => g.index === 1)!;
    const from = 1_700_000_000_000 + 30_000;
    const to = 1_700_000_000_000 + 89_000;
    const read = store.readSamples({ from, to, gpuIds: [gpu1.id] });
    expect(read).toHaveLength(60);
    expect(read.every((r) => r.index === 1 && r.timestamp >= from && r.timestamp <= to)).toBe(true);
    expect(read[0].timestamp).toBe(from);
    store.close();
  });

  it("gives each GPU's count, oldest and newest when the chunk that ends last is not the one that starts last", () => {
    // 5-row chunks, 100 rows in the last slot: all sealed, several chunks in that slot. The reading
    // of 09:11:34 is stamped 09:11:40, so the chunk of 09:11:30-34 ends after the one of 09:11:35-39.
    const start = Date.UTC(2026, 10, 26, 9, 0, 0);
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 700, start });
    const late = samples.map((s) => (s.timestamp === start + 694_000 ? { ...s, timestamp: start + 700_000 } : s));
    const { store } = TelemetryStore.open(path.join(dir, "totals.db"), { chunkMaxRows: 5, slotMs: 600_000 });
    store.writeSamples(late, infoLookup(infos));
    const gpuIds = store.gpus().map((g) => g.id);
    expect([...store.openBlocks(gpuIds)]).toEqual([]);
    for (const gpuId of gpuIds) expect(store.sampleTotals().get(gpuId)).toEqual({ records: 700, oldest: start, newest: start + 700_000 });
    store.close();
  });

  it("keeps samples whose clock stepped backwards or repeated a timestamp", () => {
    const { infos, samples } = simulatedSamples({ gpus: 1, count: 60, start: 1_700_000_000_000 });
    samples[40] = { ...samples[40], timestamp: samples[10].timestamp }; // clock stepped back 30 s
    samples[41] = { ...samples[41], timestamp: samples[10].timestamp };
    const { store } = TelemetryStore.open(path.join(dir, "clock.db"), options);
    store.writeSamples(samples, infoLookup(infos));
    expect([...store.sampleTotals().values()].map((t) => t.records)).toEqual([60]);
    expect(store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER }).filter((r) => r.timestamp === samples[10].timestamp)).toHaveLength(
      3,
    );
    store.close();
  });

  it("registers a GPU it has not been told about from the sample itself", () => {
    const { store } = TelemetryStore.open(path.join(dir, "unknown-gpu.db"), options);
    const { samples } = simulatedSamples({ gpus: 1, count: 3, start: 1_700_000_000_000 });
    store.writeSamples(samples, () => undefined);
    expect(store.gpus().map((g) => g.name)).toEqual(["GPU 0"]);
    store.close();
  });
});
