import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeChunk } from "../../src/server/storage/chunk-codec";
import { emptySummary, SUMMARY_ENTRIES, SUMMARY_FIELDS, summarizeRows } from "../../src/server/storage/metric-summary";
import {
  DecodedPeriods,
  encodePeriods,
  mergeStoredSummary,
  readPeriods,
  summarizePeriods,
  visitPeriods,
  type PeriodSummary,
} from "../../src/server/storage/period-summaries";
import { RollupTier } from "../../src/server/storage/rollup-tiers";
import { prepareStoreStatements } from "../../src/server/storage/store-statements";
import { SummaryStreamReader, type SummaryStreamRow } from "../../src/server/storage/summary-stream";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { HOUR_MS } from "../../src/server/storage/time-slots";
import { METRIC_KEYS } from "../../src/telemetry/types";
import { fixturePath } from "../helpers/fixtures";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { encodeSummary } from "../helpers/summary-v1-writer";
import { encodePeriodsV2 } from "../helpers/summary-v2-writer";
import { tempDir } from "../helpers/temp-dir";

const FIELDS = SUMMARY_FIELDS;
const dir = tempDir();
const EVERY_ENTRY = Array.from({ length: SUMMARY_ENTRIES }, (_, entry) => entry);
/** What a chart asks for (temperature, power, graphics clock, utilization), one entry, the reasons alone, and none. */
const ASKED = [[0, 3, 5, 13], [13], EVERY_ENTRY.slice(18), [], EVERY_ENTRY];

/** Periods of real rows: the chunk fixtures' rows summarized as a chunk is sealed, and the realistic one as one hour, as a rollup is. */
function realPeriods(): Array<[string, PeriodSummary[]]> {
  const rowsOf = (name: string) => decodeChunk(readFileSync(fixturePath("storage", `chunk-v1-${name}.bin`)));
  const hour = rowsOf("realistic");
  return [
    ...["realistic", "every-mode", "one-row"].map((name): [string, PeriodSummary[]] => [name, summarizePeriods(rowsOf(name))]),
    ["hour", [{ start: Math.floor(hour[0].timestamp / HOUR_MS) * HOUR_MS, rowCount: hour.length, summary: summarizeRows(hour) }]],
  ];
}

/** What reading `entries` of `periods` must give: per period its start, row count, and the entries' count/min/max/sum. */
const expected = (periods: readonly PeriodSummary[], entries: readonly number[]) =>
  periods.map(({ start, rowCount, summary }) => ({
    start,
    rowCount,
    stats: entries.flatMap((entry) => [...summary.subarray(entry * FIELDS, entry * FIELDS + FIELDS)]),
  }));

/** What readPeriods left in `into`, in the same shape. */
const readBack = (into: DecodedPeriods) =>
  Array.from({ length: into.count }, (_, i) => ({
    start: into.starts[i],
    rowCount: into.rowCounts[i],
    stats: [...into.stats.subarray(i * into.stride, (i + 1) * into.stride)],
  }));

describe("readPeriods", () => {
  const encoders: Array<[string, (periods: readonly PeriodSummary[]) => Buffer]> = [
    ["version 3", encodePeriods],
    ["version 2", encodePeriodsV2],
  ];

  it.each(encoders)("reads the asked entries of every real %s summary to what it was written from", (_, encode) => {
    const into = new DecodedPeriods();
    for (const [name, periods] of realPeriods()) {
      const blob = encode(periods);
      for (const entries of ASKED) {
        expect(readPeriods(blob, entries, into), name).toBe(true);
        expect(readBack(into), `${name}, entries ${entries.join(",")}`).toStrictEqual(expected(periods, entries));
      }
    }
  });

  it.each(encoders)("hands visitPeriods and mergeStoredSummary the same periods from a %s summary", (_, encode) => {
    const into = new DecodedPeriods();
    for (const [, periods] of realPeriods()) {
      const blob = encode(periods);
      const visited: ReturnType<typeof readBack> = [];
      visitPeriods(blob, ASKED[0], (start, rowCount, stats, at) =>
        visited.push({ start, rowCount, stats: [...stats.subarray(at, at + 16)] }),
      );
      readPeriods(blob, ASKED[0], into);
      expect(visited).toStrictEqual(readBack(into));
      const merged = emptySummary();
      mergeStoredSummary(merged, blob);
      expect(merged).toStrictEqual(summarizeRowsOf(periods));
    }
  });

  it("returns false for a version 1 summary, which has no periods, and reads nothing into its table", () => {
    const into = new DecodedPeriods();
    readPeriods(encodePeriods(realPeriods()[0][1]), ASKED[0], into);
    const before = readBack(into);
    expect(readPeriods(encodeSummary(summarizeRowsOf(realPeriods()[0][1])), ASKED[0], into)).toBe(false);
    expect(readBack(into)).toStrictEqual(before);
  });

  it("reads a summary in place among others, from its first byte to its end, whatever lies around it", () => {
    const blobs = realPeriods().flatMap(([, periods]) => [encodePeriods(periods), encodePeriodsV2(periods)]);
    const junk = Buffer.from([0xff, 0x00, 0xa5, 0x5a, 0xff]);
    const joined = Buffer.concat([junk, ...blobs.flatMap((blob) => [blob, junk])]);
    const alone = new DecodedPeriods();
    const inPlace = new DecodedPeriods();
    let from = junk.length;
    for (const blob of blobs) {
      for (const entries of ASKED) {
        readPeriods(blob, entries, alone);
        expect(readPeriods(joined, entries, inPlace, from, from + blob.length)).toBe(true);
        expect(readBack(inPlace)).toStrictEqual(readBack(alone));
      }
      from += blob.length + junk.length;
    }
  });

  it("merges a summary of any version in place among others to what it merges to alone", () => {
    const periods = realPeriods()[0][1];
    const blobs = [encodePeriods(periods), encodePeriodsV2(periods), encodeSummary(summarizeRowsOf(periods))];
    const junk = Buffer.from([0x01, 0x02, 0x03]);
    const joined = Buffer.concat(blobs.flatMap((blob) => [junk, blob]));
    let from = 0;
    for (const blob of blobs) {
      from += junk.length;
      const [alone, inPlace] = [emptySummary(), emptySummary()];
      mergeStoredSummary(alone, blob);
      mergeStoredSummary(inPlace, joined, from, from + blob.length);
      expect(inPlace).toStrictEqual(alone);
      // Version 1 holds the metrics alone, without the clock event reasons.
      const held = blob[0] === 1 ? METRIC_KEYS.length * FIELDS : SUMMARY_ENTRIES * FIELDS;
      expect(alone.subarray(0, held)).toStrictEqual(summarizeRowsOf(periods).subarray(0, held));
      from += blob.length;
    }
  });

  it("refuses a summary cut short even where other bytes follow it, and one that runs on past its last section", () => {
    const blob = encodePeriods(realPeriods()[0][1]);
    const followed = Buffer.concat([blob, Buffer.alloc(64, 0xff)]);
    const into = new DecodedPeriods();
    expect(() => readPeriods(followed, EVERY_ENTRY, into, 0, blob.length - 3)).toThrow(/corrupt period summary/);
    expect(() => readPeriods(followed, EVERY_ENTRY, into, 0, blob.length + 1)).toThrow(/corrupt period summary/);
    expect(readPeriods(followed, EVERY_ENTRY, into, 0, blob.length)).toBe(true);
  });
});

/** The whole of `periods` as one summary, as merging them gives. */
function summarizeRowsOf(periods: readonly PeriodSummary[]) {
  const total = emptySummary();
  for (const { summary } of periods) {
    for (let at = 0; at < total.length; at += FIELDS) {
      total[at] += summary[at];
      total[at + 1] = Math.min(total[at + 1], summary[at + 1]);
      total[at + 2] = Math.max(total[at + 2], summary[at + 2]);
      total[at + 3] += summary[at + 3];
    }
  }
  return total;
}

describe("summary streams", () => {
  const start = Date.UTC(2026, 10, 20, 3, 7, 13);

  /** 2 GPUs, 30 hours at 20 s, written through the store's write path. */
  function filledDatabase(name: string) {
    const { store } = TelemetryStore.open(path.join(dir, name), { chunkMaxRows: 3600, slotMs: 600_000 });
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 5400, start, stepMs: 20_000 });
    for (let i = 0; i < samples.length; i += 5000) store.writeSamples(samples.slice(i, i + 5000), infoLookup(infos));
    return store;
  }

  /** Each summary of a stream as [start, rowCount, id, bytes]. */
  const walked = (stream: SummaryStreamRow | undefined) => {
    const found: Array<[number, number, number, Buffer]> = [];
    for (const reader = new SummaryStreamReader(stream); reader.next();)
      found.push([reader.start, reader.rowCount, reader.id, Buffer.from(reader.bytes.subarray(reader.from, reader.end))]);
    return found;
  };

  it("hold the rollups and chunk summaries the row statements return, in the same order, byte for byte", () => {
    const store = filledDatabase("stream.db");
    try {
      const statements = prepareStoreStatements(store.db);
      const hourly = new RollupTier(store.db, "HourlyRollup", "hourStart", HOUR_MS);
      const gpuIds = JSON.stringify(store.gpus().map((gpu) => gpu.id));
      const [from, to] = [start, start + 30 * HOUR_MS];
      const rollups = hourly.withinRows.all(gpuIds, from, to) as Array<[number, number, Buffer]>;
      const chunks = statements.chunkSummaryRowsIn.all(gpuIds, from, to) as Array<[number, number, Buffer, number]>;
      expect(rollups.length).toBeGreaterThan(40);
      expect(chunks.length).toBeGreaterThan(300);
      expect(walked(hourly.withinStream.get(gpuIds, from, to) as SummaryStreamRow)).toStrictEqual(
        rollups.map(([hourStart, rowCount, summary]) => [hourStart, rowCount, 0, summary]),
      );
      expect(walked(statements.chunkSummaryStreamIn.get(gpuIds, from, to) as SummaryStreamRow)).toStrictEqual(
        chunks.map(([startTs, rowCount, summary, id]) => [startTs, rowCount, id, summary]),
      );
      // No summary selected: a row of nulls, which walks as none.
      const none = hourly.withinStream.get(gpuIds, from, from) as SummaryStreamRow;
      expect(none).toStrictEqual([null, null, null, null, null]);
      expect(walked(none)).toStrictEqual([]);
      expect(walked(undefined)).toStrictEqual([]);
    } finally {
      store.close();
    }
  });

  it("hold a version 1 summary as stored, with the start and row count its reader needs", () => {
    const store = filledDatabase("stream-v1.db");
    try {
      const hourly = new RollupTier(store.db, "HourlyRollup", "hourStart", HOUR_MS);
      const gpuId = store.gpus()[0].id;
      const [hourStart, rowCount] = (
        hourly.withinRows.all(JSON.stringify([gpuId]), start, start + 30 * HOUR_MS) as Array<[number, number]>
      )[3];
      const old = encodeSummary(summarizeRows(decodeChunk(readFileSync(fixturePath("storage", "chunk-v1-realistic.bin")))));
      store.db.prepare("UPDATE HourlyRollup SET summary = ? WHERE gpuId = ? AND hourStart = ?").run(old, gpuId, hourStart);
      const found = walked(hourly.withinStream.get(JSON.stringify([gpuId]), hourStart, hourStart + 1) as SummaryStreamRow);
      expect(found).toStrictEqual([[hourStart, rowCount, 0, old]]);
      expect(readPeriods(found[0][3], ASKED[0], new DecodedPeriods())).toBe(false);
    } finally {
      store.close();
    }
  });

  it("are refused, naming what is wrong, when their lists disagree with each other or with the bytes", () => {
    const bytes = Buffer.alloc(7);
    expect(walked(["-5,1700000000000", "3,4", null, "3,4", bytes])).toStrictEqual([
      [-5, 3, 0, bytes.subarray(0, 3)],
      [1700000000000, 4, 0, bytes.subarray(3)],
    ]);
    expect(() => walked(["1", "3,4", null, "3,4", bytes])).toThrow(/corrupt summary stream: its lists hold different numbers of summaries/);
    expect(() => walked(["1,2", "3,4", null, "3,5", bytes])).toThrow(
      /corrupt summary stream: its summaries' lengths add up to 8 bytes, not the 7/,
    );
    expect(() => walked(["1,2.5", "3,4", null, "3,4", bytes])).toThrow(/corrupt summary stream: its starts hold "2\.5", not an integer/);
    expect(() => walked(["1,", "3,4", null, "3,4", bytes])).toThrow(/corrupt summary stream: its starts hold "", not an integer/);
  });
});

describe("summarizePeriods", () => {
  it("sums each period as summarizeRows does, for any values, missing ones, and masks wider than 31 bits", () => {
    const rows = decodeChunk(readFileSync(fixturePath("storage", "chunk-v1-every-mode.bin")));
    const start = Math.floor(rows[0].timestamp / 120_000) * 120_000;
    // One period, so its summary is the rows' summary.
    const varied = rows.slice(0, 40).map((row, i) => ({
      ...row,
      timestamp: start + i * 1000,
      clockEventReasons: [null, 0, 4, 2 ** 40 + 0x44, 0x7fffffff, -1][i % 6],
      powerDrawW: i % 5 === 0 ? null : -12.34 + i * 7.77,
    }));
    const [period, ...others] = summarizePeriods(varied);
    expect(others).toEqual([]);
    expect({ start: period.start, rowCount: period.rowCount }).toEqual({ start, rowCount: varied.length });
    expect([...period.summary]).toEqual([...summarizeRows(varied)]);
  });
});
