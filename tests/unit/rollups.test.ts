import path from "node:path";
import { describe, expect, it } from "vitest";
import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../../src/telemetry/types";
import { decodeChunk } from "../../src/server/storage/chunk-codec";
import { SUMMARIZED_REASONS, summarizeRows } from "../../src/server/storage/metric-summary";
import { CLOCK_EVENT_REASON_BITS } from "../../src/telemetry/clock-event-reasons";
import { encodeSummary } from "../helpers/summary-v1-writer";
import { encodePeriodsV2, storedPeriods } from "../helpers/summary-v2-writer";
import { prune } from "../../src/server/storage/retention";
import { bucketedSeries, bucketWidth, windowStats } from "../../src/server/storage/telemetry-queries";
import { TelemetryStore, type StoredSample } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const HOUR = 3_600_000;
const start = Date.UTC(2026, 10, 20, 3, 7, 13); // deliberately not on a slot or hour edge

/** 2 GPUs, 50 hours at 20 s (a whole UTC day inside), with holes where the card reported nothing. */
function filledStore(name: string) {
  const { store } = TelemetryStore.open(path.join(dir, name), { chunkMaxRows: 3600, slotMs: 600_000 });
  const { infos, samples } = simulatedSamples({ gpus: 2, count: 9000, start, stepMs: 20_000 });
  samples.forEach((s, i) => {
    if (i % 97 === 0) s.temperatureC = null;
    if (i % 131 === 0) s.powerDrawW = null;
  });
  for (let i = 0; i < samples.length; i += 5000) store.writeSamples(samples.slice(i, i + 5000), infoLookup(infos));
  return store;
}

/** Reference: the plain definition over every raw sample, in scaled integers like the stored values. */
function reference(rows: StoredSample[], metric: MetricKey) {
  const scale = 10 ** METRIC_DECIMALS[metric];
  const values = rows
    .map((r) => r[metric])
    .filter((v): v is number => v !== null)
    .map((v) => Math.round(v * scale));
  if (values.length === 0) return { min: null, max: null, avg: null };
  const sum = values.reduce((a, b) => a + b, 0);
  return { min: Math.min(...values) / scale, max: Math.max(...values) / scale, avg: Math.round((sum / values.length / scale) * 100) / 100 };
}

/** Each clock event reason's share of the samples that reported a mask, as stats and series give it. */
function referenceReasons(rows: StoredSample[]) {
  const withMask = rows.filter((r) => r.clockEventReasons !== null);
  return Object.fromEntries(
    SUMMARIZED_REASONS.map((reason) => {
      const set = withMask.filter((r) => Math.floor(r.clockEventReasons! / CLOCK_EVENT_REASON_BITS[reason]) % 2 === 1).length;
      return [reason, withMask.length > 0 ? Math.round((set / withMask.length) * 10_000) / 10_000 : null];
    }),
  );
}

function referenceStats(rows: StoredSample[]) {
  return {
    recordCount: rows.length,
    firstTimestamp: rows.length ? Math.min(...rows.map((r) => r.timestamp)) : null,
    lastTimestamp: rows.length ? Math.max(...rows.map((r) => r.timestamp)) : null,
    temperature: reference(rows, "temperatureC"),
    powerDraw: reference(rows, "powerDrawW"),
    utilizationAvg: reference(rows, "gpuUtilizationPct").avg,
    graphicsClockAvg: reference(rows, "graphicsClockMhz").avg,
    memoryClockAvg: reference(rows, "memoryClockMhz").avg,
    clockReasons: referenceReasons(rows),
  };
}

/** Asserts a series equal to bucketing `rows` (every stored sample) by hand, with no more buckets than asked. */
function expectSeriesOfRawSamples(
  target: TelemetryStore,
  rows: StoredSample[],
  request: { gpuId?: number; from: number; to: number; maxPoints: number; metrics: MetricKey[]; clockReasons?: boolean },
) {
  const { gpuId, from, to, maxPoints, metrics } = request;
  const series = bucketedSeries(target, request);
  const label = `GPU ${gpuId ?? "all"} ${from}..${to}, ${maxPoints} points`;
  expect(series.bucketMs, label).toBe(bucketWidth(to - from, maxPoints, 600_000));
  expect(series.t.length, label).toBeLessThanOrEqual(maxPoints);
  const byBucket = new Map<number, StoredSample[]>();
  for (const r of rows) {
    if ((gpuId !== undefined && r.gpuId !== gpuId) || r.timestamp < from || r.timestamp > to) continue;
    const bucket = Math.floor(r.timestamp / series.bucketMs) * series.bucketMs;
    byBucket.set(bucket, [...(byBucket.get(bucket) ?? []), r]);
  }
  const t = [...byBucket.keys()].sort((a, b) => a - b);
  expect(series.t, label).toEqual(t);
  expect(series.count, label).toEqual(t.map((b) => byBucket.get(b)!.length));
  if (request.clockReasons) {
    const shares = t.map((b) => referenceReasons(byBucket.get(b)!));
    expect(series.clockReasons, `${label}: clock reasons`).toEqual(
      Object.fromEntries(SUMMARIZED_REASONS.map((reason) => [reason, shares.map((share) => share[reason])])),
    );
  } else expect(series.clockReasons, label).toBeUndefined();
  for (const metric of metrics) {
    const expected = t.map((b) => reference(byBucket.get(b)!, metric));
    expect(series.metrics[metric], `${label}: ${metric}`).toEqual({
      min: expected.map((e) => e.min),
      max: expected.map((e) => e.max),
      avg: expected.map((e) => e.avg),
    });
  }
}

/** Deterministic windows: edges on and off slot and hour boundaries, short and long. */
function windows(count: number): Array<[number, number]> {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: Array<[number, number]> = [
    [start, start + 50 * HOUR],
    [Date.UTC(2026, 10, 21), Date.UTC(2026, 10, 22) - 1],
    [Date.UTC(2026, 10, 20, 12, 0, 7), Date.UTC(2026, 10, 22, 1, 30)],
    [Date.UTC(2026, 10, 20, 5), Date.UTC(2026, 10, 21, 5) - 1],
    [Date.UTC(2026, 10, 20, 5, 10), Date.UTC(2026, 10, 20, 5, 20) - 1],
    [start - HOUR, start + 5 * 60_000],
  ];
  while (out.length < count) {
    const from = start + Math.floor(random() * 48 * HOUR);
    out.push([from, from + Math.floor(random() * random() * 40 * HOUR)]);
  }
  return out;
}

describe("bucket widths at 1000 points", () => {
  it("stay raw under a minute, then take whole two-minute periods, slots and hours", () => {
    const widths = [1, 6, 24, 48, 7 * 24, 30 * 24, 90 * 24].map((hours) => bucketWidth(hours * HOUR, 1000, 600_000) / 1000);
    // Seconds: 1 h and 6 h from the samples; 24 h and 48 h from two-minute periods; 7 d from chunk summaries; longer from hourly rollups.
    expect(widths).toEqual([3.604, 21.622, 120, 240, 1200, 3600, 10_800]);
    // A range holding more samples than may be decoded one by one gets whole periods however many points it asks.
    expect(bucketWidth(4 * HOUR, 5000, 600_000, 2.8 * HOUR) / 1000).toBe(120);
  });
});

describe("rollups and chunk summaries", () => {
  const store = filledStore("rollups.db");
  const all = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
  const gpu1 = store.gpus().find((g) => g.index === 1)!;

  it("hold exactly the sealed samples", () => {
    const rolled = store.db.prepare("SELECT sum(rowCount) FROM HourlyRollup").pluck().get() as number;
    const sealed = store.db.prepare("SELECT sum(rowCount) FROM SampleChunk").pluck().get() as number;
    expect(rolled).toBe(sealed);
    expect(sealed).toBeGreaterThan(17_000);
    // 03:07 on the 20th to 05:07 on the 22nd touches 51 hours; the last (05:00-05:07) is still unsealed.
    expect(store.db.prepare("SELECT count(*) FROM HourlyRollup").pluck().get()).toBe(2 * 50);
    expect(store.db.prepare("SELECT count(*) FROM DailyRollup").pluck().get()).toBe(2 * 3);
    expect(store.db.prepare("SELECT sum(rowCount) FROM DailyRollup").pluck().get()).toBe(sealed);
  });

  it("give window statistics equal to those computed from the raw samples", () => {
    for (const [from, to] of windows(60)) {
      const inWindow = all.filter((s) => s.timestamp >= from && s.timestamp <= to);
      expect(windowStats(store, { from, to }), `all GPUs ${from}..${to}`).toEqual(referenceStats(inWindow));
      expect(windowStats(store, { gpuId: gpu1.id, from, to }), `GPU 1 ${from}..${to}`).toEqual(
        referenceStats(inWindow.filter((s) => s.index === 1)),
      );
    }
  });

  it("give chart series equal to bucketing the raw samples, never more buckets than asked", () => {
    for (const [from, to] of windows(30)) {
      for (const maxPoints of [7, 100, 600, 1000]) {
        expectSeriesOfRawSamples(store, all, { gpuId: gpu1.id, from, to, maxPoints, metrics: ["powerDrawW", "temperatureC"] });
      }
      expectSeriesOfRawSamples(store, all, { from, to, maxPoints: 300, metrics: ["gpuUtilizationPct", "powerDrawW", "fanSpeedPct"] });
      for (const maxPoints of [5, 200, 1000]) {
        expectSeriesOfRawSamples(store, all, { gpuId: gpu1.id, from, to, maxPoints, metrics: ["graphicsClockMhz"], clockReasons: true });
      }
    }
  });

  it("give one point asked for as the whole range, equal to the raw samples in it", () => {
    for (const [from, to] of windows(20)) {
      const rows = all.filter((r) => r.gpuId === gpu1.id && r.timestamp >= from && r.timestamp <= to);
      const metrics: MetricKey[] = ["powerDrawW", "temperatureC", "graphicsClockMhz"];
      const series = bucketedSeries(store, { gpuId: gpu1.id, from, to, maxPoints: 1, metrics, clockReasons: true });
      const label = `${from}..${to}`;
      expect(series.bucketMs, label).toBe(to - from + 1);
      expect(series.t, label).toEqual(rows.length > 0 ? [from] : []);
      expect(series.count, label).toEqual(rows.length > 0 ? [rows.length] : []);
      if (rows.length === 0) continue;
      const shares = referenceReasons(rows);
      expect(series.clockReasons, label).toEqual(Object.fromEntries(SUMMARIZED_REASONS.map((reason) => [reason, [shares[reason]]])));
      for (const metric of metrics) {
        const { min, max, avg } = reference(rows, metric);
        expect(series.metrics[metric], `${label}: ${metric}`).toEqual({ min: [min], max: [max], avg: [avg] });
      }
    }
  });

  it("give the same series from chunks sealed before minutes were kept, reading their samples where minutes are needed", () => {
    const older = filledStore("older-summaries.db");
    const chunks = older.db.prepare("SELECT id, data FROM SampleChunk WHERE id % 3 = 0").all() as Array<{ id: number; data: Buffer }>;
    const rewrite = older.db.prepare("UPDATE SampleChunk SET summary = ? WHERE id = ?");
    for (const chunk of chunks) rewrite.run(encodeSummary(summarizeRows(decodeChunk(chunk.data))), chunk.id);
    expect(chunks.length).toBeGreaterThan(10);
    for (const [from, to] of windows(12)) {
      for (const maxPoints of [100, 600]) {
        expectSeriesOfRawSamples(older, all, { gpuId: gpu1.id, from, to, maxPoints, metrics: ["powerDrawW", "temperatureC"] });
      }
      // Chunks sealed before reasons were counted add none: their share is of the samples that were.
      expect(windowStats(older, { from, to })).toEqual({
        ...referenceStats(all.filter((s) => s.timestamp >= from && s.timestamp <= to)),
        clockReasons: expect.any(Object) as object,
      });
    }
    older.close();
  });

  it("give the same series and statistics from chunks and rollups written in summary format version 2", () => {
    const older = filledStore("version-2-summaries.db");
    // Every other chunk, and every rollup, as a build before version 3 wrote them.
    for (const [table, key, where] of [
      ["SampleChunk", "id", "id % 2 = 0"],
      ["HourlyRollup", "rowid", "1"],
      ["DailyRollup", "rowid", "1"],
    ]) {
      const rows = older.db.prepare(`SELECT ${key} AS key, summary FROM ${table} WHERE ${where}`).all() as Array<{
        key: number;
        summary: Buffer;
      }>;
      const rewrite = older.db.prepare(`UPDATE ${table} SET summary = ? WHERE ${key} = ?`);
      for (const { key: row, summary } of rows) rewrite.run(encodePeriodsV2(storedPeriods(summary)), row);
    }
    const versions = older.db.prepare("SELECT DISTINCT substr(hex(summary), 1, 2) FROM SampleChunk ORDER BY 1").pluck().all();
    expect(versions).toEqual(["02", "03"]);
    for (const [from, to] of windows(12)) {
      for (const maxPoints of [100, 600, 1000]) {
        expectSeriesOfRawSamples(older, all, {
          gpuId: gpu1.id,
          from,
          to,
          maxPoints,
          metrics: ["powerDrawW", "temperatureC"],
          clockReasons: true,
        });
      }
      expect(windowStats(older, { from, to })).toEqual(referenceStats(all.filter((s) => s.timestamp >= from && s.timestamp <= to)));
    }
    // Retention re-adds what is left of an hour from its version-2 and version-3 chunk summaries.
    const cutoff = start + 5 * HOUR + 17 * 60_000 + 3000;
    prune(older, { retentionMs: 1, maxBytes: 1e12, highWater: 0.9, lowWater: 0.7 }, { now: cutoff + 1 });
    const left = older.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(left.length).toBeLessThan(all.length);
    for (const [from, to] of windows(12)) {
      expect(windowStats(older, { from, to })).toEqual(referenceStats(left.filter((s) => s.timestamp >= from && s.timestamp <= to)));
    }
    older.close();
  });

  it("give per-GPU totals (count, oldest, newest) equal to the raw samples, before and after pruning", () => {
    const expectTotalsOfRawSamples = (target: TelemetryStore) => {
      const rows = target.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
      const expected = new Map(
        target.gpus().map((gpu) => {
          const stamps = rows.filter((r) => r.gpuId === gpu.id).map((r) => r.timestamp);
          return [
            gpu.id,
            {
              records: stamps.length,
              oldest: stamps.length ? Math.min(...stamps) : null,
              newest: stamps.length ? Math.max(...stamps) : null,
            },
          ];
        }),
      );
      expect(target.sampleTotals()).toEqual(expected);
      return expected;
    };
    const trimmed = filledStore("totals.db");
    // A third GPU registered but never sampled.
    trimmed.registerGpus([{ ...trimmed.gpus()[0], uuid: "GPU-silent", index: 2 }]);
    const before = expectTotalsOfRawSamples(trimmed);
    expect([...before.values()].map((t) => t.records)).toEqual([9000, 9000, 0]);
    prune(trimmed, { retentionMs: 1, maxBytes: 1e12, highWater: 0.9, lowWater: 0.7 }, { now: start + 29 * HOUR + 41 * 60_000 });
    const after = expectTotalsOfRawSamples(trimmed);
    expect(after.get(trimmed.gpus()[1].id)!.records).toBeLessThan(9000);
    trimmed.close();
  });

  it("stay equal to the raw samples after retention cuts through an hour and the size cap trims", () => {
    const pruned = filledStore("pruned.db");
    const cutoff = start + 5 * HOUR + 17 * 60_000 + 3000;
    prune(pruned, { retentionMs: 1, maxBytes: 1e12, highWater: 0.9, lowWater: 0.7 }, { now: cutoff + 1 });
    const trimTarget = pruned.fileBytes();
    prune(pruned, { retentionMs: 1e12, maxBytes: trimTarget * 1.05, highWater: 0.9, lowWater: 0.6 });
    const left = pruned.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(left.length).toBeLessThan(all.length);
    for (const [from, to] of windows(20)) {
      const inWindow = left.filter((s) => s.timestamp >= from && s.timestamp <= to);
      expect(windowStats(pruned, { from, to })).toEqual(referenceStats(inWindow));
    }
    const rolled = pruned.db.prepare("SELECT coalesce(sum(rowCount), 0) FROM HourlyRollup").pluck().get();
    expect(rolled).toBe(pruned.db.prepare("SELECT coalesce(sum(rowCount), 0) FROM SampleChunk").pluck().get());
    pruned.close();
  });

  it("cover every metric the samples carry", () => {
    const series = bucketedSeries(store, { from: start, to: start + 50 * HOUR, metrics: [...METRIC_KEYS], maxPoints: 30 });
    expect(Object.keys(series.metrics).sort()).toEqual([...METRIC_KEYS].sort());
    expect(series.metrics.fanSpeedPct!.avg.every((v) => v === null)).toBe(true);
    expect(series.metrics.powerLimitW!.max.every((v) => v === 700)).toBe(true);
  });
});
