import path from "node:path";
import { describe, expect, it } from "vitest";
import type { MetricKey } from "../../src/telemetry/types";
import type { GpuSample } from "../../src/telemetry/types";
import { prune } from "../../src/server/storage/retention";
import { BUCKET_EMPTY, BUCKET_READ, BUCKET_UNKNOWN, SeriesBucketCache } from "../../src/server/storage/series-bucket-cache";
import { bucketedSeries, type SeriesRequest } from "../../src/server/storage/telemetry-queries";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const HOUR = 3_600_000;
const OPTIONS = { chunkMaxRows: 3600, slotMs: 600_000 };
const start = Date.UTC(2026, 10, 20, 3, 7, 13); // not on a slot or hour edge
const STEP_MS = 10_000;

/** 2 GPUs, 30 hours at 10 s, with holes in some metrics, the last samples left unsealed. */
function recordedStore(name: string) {
  const { store } = TelemetryStore.open(path.join(dir, name), OPTIONS);
  const { infos, samples } = simulatedSamples({ gpus: 2, count: 10_800, start, stepMs: STEP_MS });
  samples.forEach((s, i) => {
    if (i % 89 === 0) s.temperatureC = null;
    if (i % 127 === 0) s.powerDrawW = null;
  });
  for (let i = 0; i < samples.length; i += 4000) store.writeSamples(samples.slice(i, i + 4000), infoLookup(infos));
  return { store, infos, samples };
}

const METRIC_SETS: MetricKey[][] = [["temperatureC", "powerDrawW", "graphicsClockMhz", "gpuUtilizationPct"], ["memoryClockMhz"]];

/** The requests of a History view at every span it offers here, ending at `to`: widths from samples (seconds) to hours. */
function requests(store: TelemetryStore, to: number): SeriesRequest[] {
  const out: SeriesRequest[] = [];
  for (const gpu of store.gpus()) {
    for (const span of [HOUR, 6 * HOUR, 24 * HOUR, 30 * HOUR]) {
      for (const [m, metrics] of METRIC_SETS.entries()) {
        out.push({ gpuId: gpu.id, from: to - span, to, metrics, maxPoints: 1000, clockReasons: m === 0, maxRawSpanMs: 100_000 * STEP_MS });
        out.push({ gpuId: gpu.id, from: to - span, to, metrics, maxPoints: 40 });
      }
    }
  }
  // Every GPU in one series, and one bucket for the whole range.
  out.push({ from: to - 24 * HOUR, to, metrics: METRIC_SETS[0], maxPoints: 300 });
  out.push({ gpuId: store.gpus()[0].id, from: to - 6 * HOUR, to, metrics: METRIC_SETS[0], maxPoints: 1 });
  return out;
}

/** What a store opened now, with nothing kept, answers: the JSON of every request. */
function freshAnswers(file: string, asked: SeriesRequest[]): string[] {
  const { store } = TelemetryStore.open(file, OPTIONS);
  try {
    return asked.map((request) => JSON.stringify(bucketedSeries(store, request)));
  } finally {
    store.close();
  }
}

/** Asks every request of `store` (which keeps buckets) twice and expects both answers byte-equal to a fresh store's. */
function expectAnswersAsFresh(store: TelemetryStore, asked: SeriesRequest[]) {
  const first = asked.map((request) => JSON.stringify(bucketedSeries(store, request)));
  const again = asked.map((request) => JSON.stringify(bucketedSeries(store, request)));
  const fresh = freshAnswers(store.dbPath, asked);
  for (let i = 0; i < asked.length; i++) {
    expect(first[i], `request ${i}: ${JSON.stringify(asked[i])}`).toBe(fresh[i]);
    expect(again[i], `request ${i}, asked again: ${JSON.stringify(asked[i])}`).toBe(fresh[i]);
  }
}

/** Samples of `infos`' GPUs every STEP_MS over [from, to), between the ones recorded (offset by half a step). */
function samplesBetween(infos: ReturnType<typeof recordedStore>["infos"], from: number, to: number): GpuSample[] {
  const count = Math.floor((to - from) / STEP_MS);
  const { samples } = simulatedSamples({ gpus: infos.length, count, start: from + STEP_MS / 2, stepMs: STEP_MS });
  return samples.map((s, i) => ({ ...s, temperatureC: 20 + (i % 50), powerDrawW: 900 + (i % 7) }));
}

describe("chart buckets kept between series", () => {
  it("answer as a store that keeps nothing, first and again", () => {
    const { store, samples } = recordedStore("repeat.db");
    const end = samples[samples.length - 1].timestamp;
    const asked = requests(store, end);
    expectAnswersAsFresh(store, asked);
    expect(store.seriesBucketBytes()).toBeGreaterThan(0);
    // Ranges that do not end on the newest sample, nor on any bucket edge.
    expectAnswersAsFresh(store, requests(store, end - 7 * HOUR - 12_345));
    store.close();
  });

  it("answer as a fresh store while recording goes on and the range moves with it", () => {
    const { store, infos, samples } = recordedStore("moving.db");
    let end = samples[samples.length - 1].timestamp;
    for (let step = 0; step < 6; step++) {
      expectAnswersAsFresh(store, requests(store, end + 5_000));
      // 25 minutes more: chunks sealed in the newest slots, unsealed rows in the next one.
      const more = simulatedSamples({ gpus: infos.length, count: 150, start: end + STEP_MS, stepMs: STEP_MS }).samples;
      store.writeSamples(more, infoLookup(infos));
      end = more[more.length - 1].timestamp;
    }
    store.close();
  });

  it("answer as a fresh store after samples are written into time they hold", () => {
    const { store, infos, samples } = recordedStore("past.db");
    const end = samples[samples.length - 1].timestamp;
    const asked = requests(store, end);
    expectAnswersAsFresh(store, asked);
    // Twenty minutes, 10 hours back, between the recorded samples: sealed, as a following
    // sample of another slot seals them, except the last slot's, left unsealed.
    const past = samplesBetween(infos, end - 10 * HOUR, end - 10 * HOUR + 20 * 60_000);
    store.writeSamples(past, infoLookup(infos));
    expectAnswersAsFresh(store, asked);
    // The next samples seal the rest.
    const next = simulatedSamples({ gpus: infos.length, count: 3, start: end + STEP_MS, stepMs: STEP_MS }).samples;
    store.writeSamples(next, infoLookup(infos));
    expectAnswersAsFresh(store, asked);
    // And a day back, through the hourly rollups' and the two-minute periods' time.
    store.writeSamples(samplesBetween(infos, end - 25 * HOUR, end - 23 * HOUR), infoLookup(infos));
    store.writeSamples(
      simulatedSamples({ gpus: infos.length, count: 2, start: end + 4 * STEP_MS, stepMs: STEP_MS }).samples,
      infoLookup(infos),
    );
    expectAnswersAsFresh(store, asked);
    store.close();
  });

  it("answer as a fresh store after retention and the size cap prune", () => {
    const { store, samples } = recordedStore("pruned.db");
    const end = samples[samples.length - 1].timestamp;
    const asked = requests(store, end);
    expectAnswersAsFresh(store, asked);
    // Retention cuts through an hour 14 hours back ...
    const cutoff = end - 14 * HOUR - 17 * 60_000 - 3000;
    prune(store, { retentionMs: 1, maxBytes: 1e12, highWater: 0.9, lowWater: 0.7 }, { now: cutoff + 1 });
    expectAnswersAsFresh(store, asked);
    // ... and the size cap trims the oldest chunks past it.
    const trimTarget = store.fileBytes();
    const trimmed = prune(store, { retentionMs: 1e12, maxBytes: trimTarget * 1.05, highWater: 0.9, lowWater: 0.5 });
    expect(trimmed.deletedChunks).toBeGreaterThan(0);
    expectAnswersAsFresh(store, asked);
    store.close();
  });
});

describe("SeriesBucketCache", () => {
  const buckets = (firstIndex: number, count: number, stride = 3) => ({
    firstIndex,
    values: new Float64Array(count * stride).fill(firstIndex),
    states: new Uint8Array(count).fill(BUCKET_READ),
  });

  it("keeps at most its bytes, dropping the least recently read first", () => {
    const one = buckets(0, 100); // 2,500 bytes and 256 for the entry
    const cache = new SeriesBucketCache(6000);
    cache.set("a", [1], 1000, one);
    cache.set("b", [1], 1000, buckets(0, 100));
    expect(cache.bytes).toBe(5512);
    expect(cache.get("a")).toBe(one); // now the most recently read
    cache.set("c", [2], 1000, buckets(0, 100));
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(one);
    expect(cache.bytes).toBe(5512);
    // Kept again under its key: counted once.
    cache.set("a", [1], 1000, buckets(5, 100));
    expect(cache.bytes).toBe(5512);
    // Larger than the whole budget: not kept, and nothing else dropped for it.
    cache.set("d", [1], 1000, buckets(0, 1000));
    expect(cache.get("d")).toBeUndefined();
    expect(cache.bytes).toBe(5512);
  });

  it("forgets the buckets of the changed time and GPU only", () => {
    const cache = new SeriesBucketCache(1e6);
    const gpu1 = buckets(10, 10); // buckets of 1000 ms from 10,000 to 19,999
    const both = buckets(10, 10);
    const gpu2 = buckets(10, 10);
    cache.set(SeriesBucketCache.keyOf([1], 1000, [0]), [1], 1000, gpu1);
    cache.set(SeriesBucketCache.keyOf([1, 2], 1000, [0]), [1, 2], 1000, both);
    cache.set(SeriesBucketCache.keyOf([2], 1000, [0]), [2], 1000, gpu2);
    cache.forget(1, 12_500, 13_000);
    expect([...gpu1.states]).toEqual([2, 2, 0, 0, 2, 2, 2, 2, 2, 2].map((s) => (s === 0 ? BUCKET_UNKNOWN : BUCKET_READ)));
    expect([...both.states]).toEqual([...gpu1.states]);
    expect(gpu2.states.every((s) => s === BUCKET_READ)).toBe(true);
    // Time before or after what is kept changes nothing kept.
    cache.forget(2, 0, 9_999);
    cache.forget(2, 20_000, 30_000);
    expect(gpu2.states.every((s) => s === BUCKET_READ)).toBe(true);
    // Every GPU's time before a cutoff.
    cache.forget(undefined, -Infinity, 14_999);
    expect([...gpu2.states]).toEqual([0, 0, 0, 0, 0, 2, 2, 2, 2, 2]);
    expect(BUCKET_EMPTY).not.toBe(BUCKET_UNKNOWN);
  });
});
