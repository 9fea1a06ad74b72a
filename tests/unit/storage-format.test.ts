import { readFileSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { VERSION_1_COLUMN_COUNT } from "../../src/server/storage/chunk-columns";
import { CHUNK_FORMAT_VERSION, ChunkCorruptError, decodeChunk, encodeChunk, type ChunkRow } from "../../src/server/storage/chunk-codec";
import {
  emptySummary,
  encodeSummary,
  mergeEncodedSummary,
  summarizeRows,
  SUMMARY_FORMAT_VERSION,
} from "../../src/server/storage/metric-summary";
import {
  encodeMinutes,
  mergeStoredSummary,
  MINUTE_SUMMARY_FORMAT_VERSION,
  summarizeMinutes,
  visitMinutes,
} from "../../src/server/storage/minute-summaries";
import { METRIC_CATALOGUE } from "../../src/telemetry/metric-catalogue";
import { METRIC_KEYS, noMetrics } from "../../src/telemetry/types";
import { fixturePath } from "../helpers/fixtures";
import { migratedSummary } from "../helpers/summary-migration";

/**
 * Chunks and summaries written by the first build of their format version
 * (tests/fixtures/storage/write-fixtures.ts), committed as bytes: every later build must
 * read them to exactly what they held, or a database recorded before it would change
 * meaning after an upgrade.
 */

const CHUNKS = ["realistic", "every-mode", "one-row", "empty"];
const SUMMARIES = ["realistic", "every-mode", "one-row"];
const FIELDS_PER_METRIC = 4;
const MODE_ALL_NULL = 0;

const bytes = (name: string) => readFileSync(fixturePath("storage", name));
const json = <T>(name: string): T => JSON.parse(readFileSync(fixturePath("storage", name), "utf8")) as T;

type ChunkFixture = { columns: string[]; rows: ChunkRow[] };
type SummaryField = { key: string; count: number; min?: number; max?: number; sum?: number };

describe("version-1 chunks written by an earlier build", () => {
  it.each(CHUNKS)("%s decodes to exactly the rows it was written with", (name) => {
    const blob = bytes(`chunk-v1-${name}.bin`);
    const { rows } = json<ChunkFixture>(`chunk-v1-${name}.json`);
    expect(blob[0]).toBe(1);
    // Metrics appended to the catalogue since were not recorded: null.
    expect(decodeChunk(blob)).toStrictEqual(rows.map((row) => ({ ...noMetrics(), ...row })));
  });

  it.each(CHUNKS)("%s is what this build writes for the same rows, byte for byte before deflate", (name) => {
    const blob = bytes(`chunk-v1-${name}.bin`);
    const { columns, rows } = json<ChunkFixture>(`chunk-v1-${name}.json`);
    const written = encodeChunk(rows.map((row) => ({ ...noMetrics(), ...row })));
    expect(written[0]).toBe(CHUNK_FORMAT_VERSION);
    // Deflate's output may change with zlib; the payload it carries may not. A metric appended
    // since adds its column at the end: all null, one mode byte.
    const appended = Buffer.alloc(METRIC_KEYS.length - columns.length, MODE_ALL_NULL);
    expect(inflateRawSync(written.subarray(1))).toStrictEqual(Buffer.concat([inflateRawSync(blob.subarray(1)), appended]));
  });

  it("holds its metric columns in the order the catalogue still begins with", () => {
    // Metrics are only ever appended: a column moved or removed would be read as another metric.
    const { columns } = json<ChunkFixture>("chunk-v1-realistic.json");
    expect(METRIC_KEYS.slice(0, columns.length)).toStrictEqual(columns);
    expect(METRIC_CATALOGUE.map((metric) => metric.column)).toStrictEqual(METRIC_CATALOGUE.map((_, index) => index));
  });

  it("is refused when it ends before its version-1 columns do", () => {
    // Zero rows, then one all-null mode byte per column, one column short.
    const payload = Buffer.alloc(1 + VERSION_1_COLUMN_COUNT - 1, 0);
    const blob = Buffer.concat([Buffer.from([CHUNK_FORMAT_VERSION]), deflateRawSync(payload)]);
    expect(() => decodeChunk(blob)).toThrow(ChunkCorruptError);
  });

  it("put every column mode on disk, with and without nulls", () => {
    // The mode byte opens each column; this reads them the way the layout in docs/storage-format.md says.
    const payload = inflateRawSync(bytes("chunk-v1-every-mode.bin").subarray(1));
    expect(columnModes(payload).sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 2, 3, 0x81, 0x82, 0x83]));
  });
});

describe("version-1 metric summaries written by an earlier build", () => {
  // Written before summaries carried a version byte; a database holds them after the migration that added it.
  it.each(SUMMARIES)("%s merges, once migrated, to exactly the count, min, max and sum it was written with", (name) => {
    const { fields } = json<{ fields: SummaryField[] }>(`summary-v1-${name}.json`);
    const merged = emptySummary();
    mergeEncodedSummary(merged, migratedSummary(bytes(`summary-v1-${name}.bin`)));
    METRIC_KEYS.forEach((key, m) => {
      const field = fields[m] ?? { key, count: 0 };
      const at = m * FIELDS_PER_METRIC;
      expect(field.key).toBe(key);
      expect(merged[at], field.key).toBe(field.count);
      if (field.count === 0) return;
      expect([merged[at + 1], merged[at + 2], merged[at + 3]], field.key).toStrictEqual([field.min, field.max, field.sum]);
    });
  });

  it.each(SUMMARIES)("%s, once migrated, is what this build writes for the chunk's rows, byte for byte", (name) => {
    const { columns, rows } = json<ChunkFixture>(`chunk-v1-${name}.json`);
    // A metric appended since adds a zero count at the end.
    const appended = Buffer.alloc(METRIC_KEYS.length - columns.length, 0);
    const written = encodeSummary(summarizeRows(rows.map((row) => ({ ...noMetrics(), ...row }))));
    expect(written[0]).toBe(SUMMARY_FORMAT_VERSION);
    expect(written).toStrictEqual(Buffer.concat([migratedSummary(bytes(`summary-v1-${name}.bin`)), appended]));
  });

  it("is refused when it ends before its version-1 metrics do", () => {
    const allEmpty = Buffer.concat([Buffer.from([SUMMARY_FORMAT_VERSION]), Buffer.alloc(VERSION_1_COLUMN_COUNT, 0)]);
    expect(() => mergeEncodedSummary(emptySummary(), allEmpty)).not.toThrow();
    expect(() => mergeEncodedSummary(emptySummary(), allEmpty.subarray(0, -1))).toThrow(/corrupt metric summary/);
  });

  it("is refused, naming the version, when its format version is not one this build reads", () => {
    const later = encodeSummary(emptySummary());
    later[0] = 3;
    expect(() => mergeStoredSummary(emptySummary(), later)).toThrow(/unsupported metric summary format version 3/);
  });
});

type MinuteFixture = { start: number; rowCount: number; fields: SummaryField[] };

describe("version-2 minute summaries written by an earlier build", () => {
  const minutesOf = (name: string) => json<{ minutes: MinuteFixture[] }>(`minutes-v2-${name}.json`).minutes;
  const everyMetric = METRIC_KEYS.map((_, m) => m);
  const visited = (blob: Uint8Array, metrics: number[]) => {
    const minutes: Array<{ start: number; rowCount: number; stats: number[] }> = [];
    visitMinutes(blob, metrics, (start, rowCount, stats, at) =>
      minutes.push({ start, rowCount, stats: [...stats.subarray(at, at + metrics.length * FIELDS_PER_METRIC)] }),
    );
    return minutes;
  };
  /** A fixture field as visitMinutes hands it over: an empty one is a zero count, min Infinity, max -Infinity. */
  const expected = (field: SummaryField | undefined) =>
    !field || field.count === 0 ? [0, Infinity, -Infinity, 0] : [field.count, field.min, field.max, field.sum];

  it.each(SUMMARIES)("%s hands back exactly the minutes, counts, min, max and sum it was written with", (name) => {
    const blob = bytes(`minutes-v2-${name}.bin`);
    expect(blob[0]).toBe(MINUTE_SUMMARY_FORMAT_VERSION);
    const minutes = visited(blob, everyMetric);
    expect(minutes.map(({ start, rowCount }) => ({ start, rowCount }))).toStrictEqual(
      minutesOf(name).map(({ start, rowCount }) => ({ start, rowCount })),
    );
    minutesOf(name).forEach((minute, i) => {
      // Metrics appended to the catalogue since were not recorded: no values.
      expect(minutes[i].stats).toStrictEqual(METRIC_KEYS.flatMap((_, m) => expected(minute.fields[m])));
    });
  });

  it.each(SUMMARIES)("%s is what this build writes for the chunk's rows, byte for byte", (name) => {
    const { columns } = json<ChunkFixture>(`chunk-v1-${name}.json`);
    const written = encodeMinutes(summarizeMinutes(decodeChunk(bytes(`chunk-v1-${name}.bin`))));
    // A metric appended since adds a section of one byte at the end: its length (1), then "no values" (0).
    const appended = Buffer.from(Array.from({ length: METRIC_KEYS.length - columns.length }, () => [1, 0]).flat());
    expect(written).toStrictEqual(Buffer.concat([bytes(`minutes-v2-${name}.bin`), appended]));
  });

  it.each(SUMMARIES)("%s adds up to the chunk's version-1 summary", (name) => {
    const fromMinutes = emptySummary();
    mergeStoredSummary(fromMinutes, bytes(`minutes-v2-${name}.bin`));
    const whole = emptySummary();
    mergeStoredSummary(whole, migratedSummary(bytes(`summary-v1-${name}.bin`)));
    expect(fromMinutes).toStrictEqual(whole);
  });

  it("reads the metrics asked for, and only those, to the same values", () => {
    const blob = bytes("minutes-v2-every-mode.bin");
    const asked = [3, 6, 12, 15];
    const all = visited(blob, everyMetric);
    expect(visited(blob, asked).map((minute) => minute.stats)).toStrictEqual(
      all.map((minute) => asked.flatMap((m) => minute.stats.slice(m * FIELDS_PER_METRIC, (m + 1) * FIELDS_PER_METRIC))),
    );
  });

  it("put every section mode on disk, with and without per-minute counts", () => {
    const modes = [...sectionModes(bytes("minutes-v2-every-mode.bin")), ...sectionModes(bytes("minutes-v2-realistic.bin"))];
    expect(modes.sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 0x81, 0x82, 0x83]));
  });

  it("is refused when it is cut short or names a section mode it does not know", () => {
    const blob = bytes("minutes-v2-realistic.bin");
    expect(() => mergeStoredSummary(emptySummary(), blob.subarray(0, blob.length - 3))).toThrow(/corrupt minute summary/);
    const unknownMode = Buffer.from(blob);
    unknownMode[sectionStarts(blob)[3]] = 9;
    expect(() => mergeStoredSummary(emptySummary(), unknownMode)).toThrow(/corrupt minute summary/);
  });
});

/** Where each metric's section of a version-2 summary starts (its mode byte), walking the layout in docs/storage-format.md. */
function sectionStarts(blob: Uint8Array): number[] {
  let at = 1;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = blob[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
  };
  const minutes = varint();
  for (let i = 0; i < minutes * 2; i++) varint();
  const starts: number[] = [];
  while (at < blob.length) {
    const length = varint();
    starts.push(at);
    at += length;
  }
  return starts;
}

function sectionModes(blob: Uint8Array): number[] {
  return sectionStarts(blob).map((at) => blob[at]);
}

/** The mode byte of every metric column of a chunk payload, walking the varints between them. */
function columnModes(payload: Uint8Array): number[] {
  let at = 0;
  const varint = () => {
    while (payload[at] & 0x80) at++;
    at++;
  };
  let rowCount = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = payload[at++];
    rowCount += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) break;
  }
  for (let i = 0; i < rowCount; i++) varint();
  const modes: number[] = [];
  for (let column = 0; column < VERSION_1_COLUMN_COUNT; column++) {
    const mode = payload[at++];
    modes.push(mode);
    if (mode === 0) continue;
    let present = rowCount;
    if (mode & 0x80) {
      const bitmap = payload.subarray(at, at + Math.ceil(rowCount / 8));
      present = [...bitmap].reduce((count, byte) => count + popCount(byte), 0);
      at += bitmap.length;
    }
    const values = (mode & 0x7f) === 1 ? 1 : present;
    for (let i = 0; i < values; i++) varint();
  }
  expect(at).toBe(payload.length);
  return modes;
}

function popCount(byte: number): number {
  let count = 0;
  for (let bits = byte; bits !== 0; bits &= bits - 1) count++;
  return count;
}
