import { readFileSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { VERSION_1_COLUMN_COUNT } from "../../src/server/storage/chunk-columns";
import {
  CHUNK_FORMAT_VERSION,
  ChunkCorruptError,
  decodeChunk,
  decodeChunkColumns,
  encodeChunk,
  encodeChunkVersion1,
  type ChunkRow,
} from "../../src/server/storage/chunk-codec";
import {
  emptySummary,
  mergeEncodedSummary,
  SUMMARIZED_REASONS,
  summarizeRows,
  SUMMARY_FORMAT_VERSION,
} from "../../src/server/storage/metric-summary";
import {
  encodePeriods,
  mergeStoredSummary,
  PERIOD_SUMMARY_FORMAT_VERSION,
  summarizePeriods,
  visitPeriods,
} from "../../src/server/storage/period-summaries";
import { HOUR_MS, slotStart } from "../../src/server/storage/time-slots";
import { CLOCK_EVENT_REASON_BITS, CLOCK_EVENT_REASONS } from "../../src/telemetry/clock-event-reasons";
import { METRIC_CATALOGUE } from "../../src/telemetry/metric-catalogue";
import { METRIC_KEYS, noMetrics } from "../../src/telemetry/types";
import { fixturePath } from "../helpers/fixtures";
import { encodeSummary } from "../helpers/summary-v1-writer";
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

  it.each(CHUNKS)("%s is what this build's version-1 writer writes for the same rows, byte for byte before deflate", (name) => {
    const blob = bytes(`chunk-v1-${name}.bin`);
    const { columns, rows } = json<ChunkFixture>(`chunk-v1-${name}.json`);
    const written = encodeChunkVersion1(rows.map((row) => ({ ...noMetrics(), ...row })));
    expect(written[0]).toBe(1);
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
    const blob = Buffer.concat([Buffer.from([1]), deflateRawSync(payload)]);
    expect(() => decodeChunk(blob)).toThrow(ChunkCorruptError);
  });

  it("put every column mode on disk, with and without nulls", () => {
    // The mode byte opens each column; this reads them the way the layout in docs/storage-format.md says.
    const payload = inflateRawSync(bytes("chunk-v1-every-mode.bin").subarray(1));
    expect(columnModes(payload).sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 2, 3, 0x81, 0x82, 0x83]));
  });
});

const CHUNKS_V2 = [...CHUNKS, "predictors"];

describe("version-2 chunks written by an earlier build", () => {
  it.each(CHUNKS_V2)("%s decodes to exactly the rows it was written with, whole and column by column", (name) => {
    const blob = bytes(`chunk-v2-${name}.bin`);
    const { rows } = json<ChunkFixture>(`chunk-v2-${name}.json`);
    expect(blob[0]).toBe(2);
    const expected = rows.map((row) => ({ ...noMetrics(), ...row }));
    expect(decodeChunk(blob)).toStrictEqual(expected);
    METRIC_KEYS.forEach((key, m) => {
      const { table } = decodeChunkColumns(blob, [m]);
      const scale = 10 ** METRIC_CATALOGUE[m].decimals;
      expect([...table.subarray(0, rows.length)], key).toStrictEqual(
        expected.map((row) => (row[key] === null ? NaN : Math.round(row[key] * scale))),
      );
    });
  });

  it.each(CHUNKS_V2)("%s is what this build writes for the same rows, byte for byte", (name) => {
    const { columns, rows } = json<ChunkFixture>(`chunk-v2-${name}.json`);
    // A metric appended to the catalogue since would add an all-null mode byte to the header.
    expect(METRIC_KEYS).toStrictEqual(columns);
    const written = encodeChunk(rows.map((row) => ({ ...noMetrics(), ...row })));
    expect(written[0]).toBe(CHUNK_FORMAT_VERSION);
    expect(written).toStrictEqual(bytes(`chunk-v2-${name}.bin`));
  });

  it("put every column mode and both timestamp sequences on disk, with and without nulls", () => {
    // Read the way the layout in docs/storage-format.md says: modes 0 all null, 1 constant,
    // 2 previous value, 3 level, 4 not predicted, 5 same row as; 0x80 has nulls.
    const headers = CHUNKS_V2.filter((name) => name !== "empty" && name !== "one-row").map((name) =>
      versionTwoHeader(bytes(`chunk-v2-${name}.bin`)),
    );
    const modes = new Set(headers.flatMap((header) => header.modes));
    for (const mode of [0, 1, 0x81, 2, 3, 4, 0x84, 5, 0x85]) expect(modes, `mode ${mode}`).toContain(mode);
    expect(new Set(headers.map((header) => header.timestampSequence))).toStrictEqual(new Set([0, 1]));
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

type PeriodFixture = { start: number; rowCount: number; fields: SummaryField[] };

describe("version-2 period summaries written by an earlier build", () => {
  const PERIODS = ["realistic", "every-mode", "one-row", "hour"];
  const periodsOf = (name: string) => json<{ periods: PeriodFixture[] }>(`periods-v2-${name}.json`).periods;
  const ENTRY_KEYS = [...METRIC_KEYS, ...SUMMARIZED_REASONS.map((reason) => `reason:${reason}`)];
  const everyEntry = ENTRY_KEYS.map((_, entry) => entry);
  const visited = (blob: Uint8Array, entries: number[]) => {
    const periods: Array<{ start: number; rowCount: number; stats: number[] }> = [];
    visitPeriods(blob, entries, (start, rowCount, stats, at) =>
      periods.push({ start, rowCount, stats: [...stats.subarray(at, at + entries.length * FIELDS_PER_METRIC)] }),
    );
    return periods;
  };
  /** A fixture field as visitPeriods hands it over: an empty one is a zero count, min Infinity, max -Infinity. */
  const expected = (field: SummaryField | undefined) =>
    !field || field.count === 0 ? [0, Infinity, -Infinity, 0] : [field.count, field.min, field.max, field.sum];
  /** Written by this build for the same rows, as the fixture was. */
  const written = (name: string) => {
    const rows = decodeChunk(bytes(`chunk-v1-${name === "hour" ? "realistic" : name}.bin`));
    if (name !== "hour") return encodePeriods(summarizePeriods(rows));
    return encodePeriods([{ start: slotStart(rows[0].timestamp, HOUR_MS), rowCount: rows.length, summary: summarizeRows(rows) }]);
  };

  it.each(PERIODS)("%s hands back exactly the periods, counts, min, max and sum it was written with", (name) => {
    const blob = bytes(`periods-v2-${name}.bin`);
    expect(blob[0]).toBe(PERIOD_SUMMARY_FORMAT_VERSION);
    const periods = visited(blob, everyEntry);
    expect(periods.map(({ start, rowCount }) => ({ start, rowCount }))).toStrictEqual(
      periodsOf(name).map(({ start, rowCount }) => ({ start, rowCount })),
    );
    periodsOf(name).forEach((period, i) => {
      // Entries appended since were not recorded: no values.
      expect(period.fields.map((field) => field.key)).toStrictEqual(ENTRY_KEYS.slice(0, period.fields.length));
      expect(periods[i].stats).toStrictEqual(ENTRY_KEYS.flatMap((_, entry) => expected(period.fields[entry])));
    });
  });

  it.each(PERIODS)("%s is what this build writes for the same rows, byte for byte", (name) => {
    // Holds while nothing was appended to the catalogue or the reasons; a metric appended since
    // would add its section to the metrics and count one more.
    expect(written(name)).toStrictEqual(bytes(`periods-v2-${name}.bin`));
  });

  it.each(SUMMARIES)("%s, minute by minute, adds up to the chunk's version-1 summary and counts its clock reasons", (name) => {
    const fromMinutes = emptySummary();
    mergeStoredSummary(fromMinutes, bytes(`periods-v2-${name}.bin`));
    const whole = emptySummary();
    mergeStoredSummary(whole, migratedSummary(bytes(`summary-v1-${name}.bin`)));
    const metricFields = METRIC_KEYS.length * FIELDS_PER_METRIC;
    expect(fromMinutes.subarray(0, metricFields)).toStrictEqual(whole.subarray(0, metricFields));
    const rows = decodeChunk(bytes(`chunk-v1-${name}.bin`)).filter((row) => row.clockEventReasons !== null);
    SUMMARIZED_REASONS.forEach((reason, r) => {
      const at = metricFields + r * FIELDS_PER_METRIC;
      const set = rows.filter((row) => Math.floor(row.clockEventReasons! / CLOCK_EVENT_REASON_BITS[reason]) % 2 === 1).length;
      expect([fromMinutes[at], fromMinutes[at + 3]], reason).toStrictEqual([rows.length, set]);
    });
  });

  it("counts every clock event reason the vocabulary names", () => {
    // The stored order is pinned by the fixtures' keys; a reason added to the vocabulary is appended here too.
    expect([...SUMMARIZED_REASONS].sort()).toEqual([...CLOCK_EVENT_REASONS].sort());
  });

  it("reads the entries asked for, and only those, to the same values", () => {
    const blob = bytes("periods-v2-every-mode.bin");
    const asked = [3, 6, 12, 15, METRIC_KEYS.length, METRIC_KEYS.length + 2];
    const all = visited(blob, everyEntry);
    expect(visited(blob, asked).map((period) => period.stats)).toStrictEqual(
      all.map((period) => asked.flatMap((m) => period.stats.slice(m * FIELDS_PER_METRIC, (m + 1) * FIELDS_PER_METRIC))),
    );
  });

  it("put every section mode on disk, with and without per-period counts", () => {
    const modes = PERIODS.flatMap((name) => sectionModes(bytes(`periods-v2-${name}.bin`)));
    expect(modes.sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 0x81, 0x82, 0x83]));
  });

  it("is refused when it is cut short or names a section mode it does not know", () => {
    const blob = bytes("periods-v2-realistic.bin");
    expect(() => mergeStoredSummary(emptySummary(), blob.subarray(0, blob.length - 3))).toThrow(/corrupt period summary/);
    const unknownMode = Buffer.from(blob);
    unknownMode[sectionStarts(blob)[3]] = 9;
    expect(() => mergeStoredSummary(emptySummary(), unknownMode)).toThrow(/corrupt period summary/);
  });
});

/** Where each section of a version-2 summary starts (its mode byte), walking the layout in docs/storage-format.md. */
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
  const periods = varint();
  for (let i = 0; i < periods * 2; i++) varint();
  const starts: number[] = [];
  for (let run = 0; run < 2; run++) {
    const sections = varint();
    for (let i = 0; i < sections; i++) {
      const length = varint();
      starts.push(at);
      at += length;
    }
  }
  return starts;
}

function sectionModes(blob: Uint8Array): number[] {
  return sectionStarts(blob).map((at) => blob[at]);
}

/** The mode byte of every metric column of a chunk payload, walking the varints between them. */
/** A version-2 chunk's timestamp sequence (0 deltas, 1 grid) and column modes, depth bits left out. */
function versionTwoHeader(blob: Uint8Array): { timestampSequence: number; modes: number[] } {
  let at = 5;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = blob[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
  };
  const rowCount = varint();
  expect(rowCount).toBeGreaterThan(1);
  const columnCount = varint();
  varint(); // first timestamp
  const timestampByte = blob[at++];
  const timestampSequence = timestampByte >>> 7;
  if (timestampSequence === 1) varint(); // grid step
  varint(); // stream length
  const modes: number[] = [];
  for (let column = 0; column < columnCount; column++) {
    const modeByte = blob[at++];
    const mode = modeByte & 0x87;
    modes.push(mode);
    if ((mode & 7) === 1) varint(); // the constant
    if ((mode & 7) === 5) at++; // the reference column
    if (mode === 1 || mode === 0) continue;
    varint(); // stream length
  }
  return { timestampSequence, modes };
}

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
