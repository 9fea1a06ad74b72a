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
  addValue,
  emptySummary,
  mergeEncodedSummary,
  SUMMARIZED_REASONS,
  summarizeRows,
  SUMMARY_FORMAT_VERSION,
} from "../../src/server/storage/metric-summary";
import { BitReader, BitWriter, bitWidth, MAX_PACKED_BITS } from "../../src/server/storage/bit-packing";
import {
  BYTE_PERIOD_SUMMARY_FORMAT_VERSION,
  encodePeriods,
  mergeStoredSummary,
  PERIOD_SUMMARY_FORMAT_VERSION,
  summarizePeriods,
  visitPeriods,
  type PeriodSummary,
} from "../../src/server/storage/period-summaries";
import { HOUR_MS, slotStart } from "../../src/server/storage/time-slots";
import { CLOCK_EVENT_REASON_BITS, CLOCK_EVENT_REASONS } from "../../src/telemetry/clock-event-reasons";
import { METRIC_CATALOGUE } from "../../src/telemetry/metric-catalogue";
import { METRIC_KEYS, noMetrics } from "../../src/telemetry/types";
import { fixturePath } from "../helpers/fixtures";
import { encodeSummary } from "../helpers/summary-v1-writer";
import { encodePeriodsV2, storedPeriods } from "../helpers/summary-v2-writer";
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
    later[0] = PERIOD_SUMMARY_FORMAT_VERSION + 1;
    expect(() => mergeStoredSummary(emptySummary(), later)).toThrow(
      new RegExp(`unsupported metric summary format version ${PERIOD_SUMMARY_FORMAT_VERSION + 1}`),
    );
  });
});

type PeriodFixture = { start: number; rowCount: number; fields: SummaryField[] };

const PERIODS = ["realistic", "every-mode", "one-row", "hour"];
const ENTRY_KEYS = [...METRIC_KEYS, ...SUMMARIZED_REASONS.map((reason) => `reason:${reason}`)];
const everyEntry = ENTRY_KEYS.map((_, entry) => entry);
const periodsOf = (version: number, name: string) => json<{ periods: PeriodFixture[] }>(`periods-v${version}-${name}.json`).periods;
const visited = (blob: Uint8Array, entries: readonly number[]) => {
  const periods: Array<{ start: number; rowCount: number; stats: number[] }> = [];
  visitPeriods(blob, entries, (start, rowCount, stats, at) =>
    periods.push({ start, rowCount, stats: [...stats.subarray(at, at + entries.length * FIELDS_PER_METRIC)] }),
  );
  return periods;
};
/** A fixture field as visitPeriods hands it over: an empty one is a zero count, min Infinity, max -Infinity. */
const expected = (field: SummaryField | undefined) =>
  !field || field.count === 0 ? [0, Infinity, -Infinity, 0] : [field.count, field.min, field.max, field.sum];

describe.each([BYTE_PERIOD_SUMMARY_FORMAT_VERSION, PERIOD_SUMMARY_FORMAT_VERSION])(
  "version-%i period summaries written by a build",
  (version) => {
    const fixture = (name: string) => bytes(`periods-v${version}-${name}.bin`);

    it.each(PERIODS)("%s hands back exactly the periods, counts, min, max and sum it was written with", (name) => {
      const blob = fixture(name);
      expect(blob[0]).toBe(version);
      const periods = visited(blob, everyEntry);
      expect(periods.map(({ start, rowCount }) => ({ start, rowCount }))).toStrictEqual(
        periodsOf(version, name).map(({ start, rowCount }) => ({ start, rowCount })),
      );
      periodsOf(version, name).forEach((period, i) => {
        // Entries appended since were not recorded: no values.
        expect(period.fields.map((field) => field.key)).toStrictEqual(ENTRY_KEYS.slice(0, period.fields.length));
        expect(periods[i].stats).toStrictEqual(ENTRY_KEYS.flatMap((_, entry) => expected(period.fields[entry])));
      });
    });

    it.each(SUMMARIES)("%s, period by period, adds up to the chunk's version-1 summary and counts its clock reasons", (name) => {
      const fromPeriods = emptySummary();
      mergeStoredSummary(fromPeriods, fixture(name));
      const whole = emptySummary();
      mergeStoredSummary(whole, migratedSummary(bytes(`summary-v1-${name}.bin`)));
      const metricFields = METRIC_KEYS.length * FIELDS_PER_METRIC;
      expect(fromPeriods.subarray(0, metricFields)).toStrictEqual(whole.subarray(0, metricFields));
      const rows = decodeChunk(bytes(`chunk-v1-${name}.bin`)).filter((row) => row.clockEventReasons !== null);
      SUMMARIZED_REASONS.forEach((reason, r) => {
        const at = metricFields + r * FIELDS_PER_METRIC;
        const set = rows.filter((row) => Math.floor(row.clockEventReasons! / CLOCK_EVENT_REASON_BITS[reason]) % 2 === 1).length;
        expect([fromPeriods[at], fromPeriods[at + 3]], reason).toStrictEqual([rows.length, set]);
      });
    });

    it("reads the entries asked for, and only those, to the same values", () => {
      const blob = fixture("every-mode");
      const asked = [3, 6, 12, 15, METRIC_KEYS.length, METRIC_KEYS.length + 2];
      const all = visited(blob, everyEntry);
      expect(visited(blob, asked).map((period) => period.stats)).toStrictEqual(
        all.map((period) => asked.flatMap((m) => period.stats.slice(m * FIELDS_PER_METRIC, (m + 1) * FIELDS_PER_METRIC))),
      );
    });

    it("is refused when it is cut short, or runs on past its last section", () => {
      const blob = fixture("realistic");
      expect(() => mergeStoredSummary(emptySummary(), blob.subarray(0, blob.length - 3))).toThrow(/corrupt period summary/);
      expect(() => mergeStoredSummary(emptySummary(), Buffer.concat([blob, Buffer.from([0x55])]))).toThrow(/corrupt period summary/);
    });
  },
);

describe("clock event reasons in period summaries", () => {
  it("counts every clock event reason the vocabulary names", () => {
    // The stored order is pinned by the fixtures' keys; a reason added to the vocabulary is appended here too.
    expect([...SUMMARIZED_REASONS].sort()).toEqual([...CLOCK_EVENT_REASONS].sort());
  });
});

describe("version-2 period summaries", () => {
  it.each(PERIODS)("%s is what the tests' version-2 writer writes for the same periods, byte for byte", (name) => {
    const blob = bytes(`periods-v2-${name}.bin`);
    expect(encodePeriodsV2(storedPeriods(blob))).toStrictEqual(blob);
  });

  it("put every section mode on disk, with and without per-period counts", () => {
    const modes = PERIODS.flatMap((name) => sectionModes(bytes(`periods-v2-${name}.bin`)));
    expect(modes.sort((a, b) => a - b)).toEqual(expect.arrayContaining([0, 1, 2, 3, 4, 0x81, 0x82, 0x83]));
  });

  it("are refused when one names a section mode they do not know", () => {
    const unknownMode = Buffer.from(bytes("periods-v2-realistic.bin"));
    unknownMode[sectionStarts(unknownMode)[3]] = 9;
    expect(() => mergeStoredSummary(emptySummary(), unknownMode)).toThrow(/corrupt period summary/);
  });
});

describe("version-3 period summaries, what this build writes", () => {
  /** Written by this build for the same rows, as the fixture was. */
  const written = (name: string) => {
    const rows = decodeChunk(bytes(`chunk-v1-${name === "hour" ? "realistic" : name}.bin`));
    if (name !== "hour") return encodePeriods(summarizePeriods(rows));
    return encodePeriods([{ start: slotStart(rows[0].timestamp, HOUR_MS), rowCount: rows.length, summary: summarizeRows(rows) }]);
  };

  it.each(PERIODS)("%s is what this build writes for the same rows, byte for byte", (name) => {
    // Holds while nothing was appended to the catalogue or the reasons; a metric appended since
    // would add its section to the metrics and count one more.
    expect(written(name)).toStrictEqual(bytes(`periods-v3-${name}.bin`));
  });

  it("put every section mode on disk, with and without per-period counts", () => {
    const sections = PERIODS.flatMap((name) => packedSections(bytes(`periods-v3-${name}.bin`)));
    const seen = sections.map(({ mode, countsFollow }) => `${mode}${countsFollow ? "+counts" : ""}`);
    expect(seen).toEqual(expect.arrayContaining(["0", "1", "1+counts", "2", "2+counts", "3", "4", "5", "6"]));
  });

  it("takes fewer bytes than version 2 for a realistic chunk and for an hour", () => {
    for (const name of ["realistic", "hour"]) expect(written(name).length).toBeLessThan(bytes(`periods-v2-${name}.bin`).length);
  });

  it("is refused when a section names a mode it does not know, or copies one not before it", () => {
    const blob = bytes("periods-v3-realistic.bin");
    const sections = packedSections(blob);
    const unknownMode = Buffer.from(blob);
    // Mode 7 is unused: set every bit of the fourth section's 3-bit mode.
    setBits(unknownMode, sections[3].at, 3);
    expect(() => mergeStoredSummary(emptySummary(), unknownMode)).toThrow(/corrupt period summary/);
    const copy = sections.findIndex(({ mode }) => mode === 5);
    expect(copy).toBeGreaterThan(0);
    const forward = Buffer.from(blob);
    // The copied section's number follows the mode, the counts bit and a 6-bit width: make it point at itself.
    writeBits(forward, sections[copy].at + 4 + 6, bitWidthOf(sections[copy].copyOf!), copy);
    expect(() => mergeStoredSummary(emptySummary(), forward)).toThrow(/corrupt period summary/);
  });

  it("is refused when it claims more periods than its bytes could hold", () => {
    const blob = Buffer.from(bytes("periods-v3-one-row.bin"));
    const claimed = Buffer.concat([Buffer.from([PERIOD_SUMMARY_FORMAT_VERSION, 0xff, 0xff, 0x7f]), blob.subarray(2)]);
    expect(() => mergeStoredSummary(emptySummary(), claimed)).toThrow(/corrupt period summary/);
  });
});

describe("version-3 period summaries, round trip", () => {
  /** Periods two minutes apart (with a gap), each entry drawn from `value`, some with nulls. */
  const periodsFrom = (value: (period: number, entry: number, sample: number) => number | null, periods = 5): PeriodSummary[] =>
    Array.from({ length: periods }, (_, p) => {
      const summary = emptySummary();
      const rowCount = 120 - p;
      for (let entry = 0; entry < ENTRY_KEYS.length; entry++) {
        for (let sample = 0; sample < rowCount; sample++) {
          const v = value(p, entry, sample);
          if (v !== null) addValue(summary, entry * FIELDS_PER_METRIC, v);
        }
      }
      return { start: (29_000_000 + p * 2 + (p > 2 ? 6 : 0)) * 60_000, rowCount, summary };
    });
  const roundTrip = (periods: PeriodSummary[]) => {
    const blob = encodePeriods(periods);
    expect(blob[0]).toBe(PERIOD_SUMMARY_FORMAT_VERSION);
    expect(visited(blob, everyEntry)).toStrictEqual(
      periods.map(({ start, rowCount, summary }) => ({ start, rowCount, stats: [...summary] })),
    );
  };

  it("keeps noisy, negative, stepping and partly null values exactly", () => {
    roundTrip(
      periodsFrom((p, entry, sample) => (sample % (entry + 2) === 0 ? null : ((p * 7919 + sample * 104_729 + entry) % 2001) - 1000)),
    );
    roundTrip(periodsFrom((p, entry, sample) => (entry % 3 === 0 ? p * 1000 : entry % 3 === 1 ? (sample < 60 ? 0 : 1) : -5)));
  });

  it("keeps values at the edges of the exact forms, and past them", () => {
    for (const magnitude of [2 ** 31, 2 ** 50, 2 ** 50 + 1, 2 ** 52, 2 ** 53]) {
      roundTrip(periodsFrom((p, entry, sample) => (sample === 0 ? magnitude : sample === 1 ? -magnitude + p : (entry * sample) % 7), 3));
    }
    // A summed bitmask grows past 2^53: stored as float64.
    roundTrip(periodsFrom((_p, _entry, sample) => 2 ** 62 + (sample % 2) * 2 ** 61, 2));
    roundTrip(periodsFrom((_p, entry, sample) => (entry === 4 ? 0.5 * sample : null), 2));
  });

  it("keeps zero-one and float64 sections where some samples had no value", () => {
    const zeroOne = periodsFrom((p, entry, sample) => (sample % 5 === p ? null : sample < 40 * p ? 1 : 0));
    const floats = periodsFrom((p, entry, sample) => (sample % 3 === 0 ? null : 2 ** 60 + sample * 2 ** 12), 2);
    expect(packedSections(encodePeriods(zeroOne)).map(({ mode, countsFollow }) => [mode, countsFollow])).toContainEqual([3, true]);
    expect(packedSections(encodePeriods(floats)).map(({ mode, countsFollow }) => [mode, countsFollow])).toContainEqual([4, true]);
    roundTrip(zeroOne);
    roundTrip(floats);
  });

  it("keeps no periods, a single period, and periods without any value", () => {
    roundTrip([]);
    roundTrip(periodsFrom((p, entry, sample) => entry * 10 + sample, 1));
    roundTrip(periodsFrom(() => null, 4));
    // Starts before the epoch (a clock set wrong) come back too.
    roundTrip(
      periodsFrom((p, entry, sample) => entry + sample, 3).map((period) => ({ ...period, start: period.start - 30_000_000 * 60_000 })),
    );
  });

  it("reads a copied section to the values of the section it copies", () => {
    const periods = periodsFrom((p, entry, sample) => (entry === 5 || entry === 6 ? (p * 13 + sample * 31) % 97 : 1));
    const blob = encodePeriods(periods);
    expect(packedSections(blob)[6].copyOf).toBe(5);
    expect(visited(blob, [6])).toStrictEqual(visited(blob, [5]));
    roundTrip(periods);
  });
});

describe("bit-packed runs", () => {
  it("read back every width from 0 to 53 bits, at every offset", () => {
    const writer = new BitWriter();
    const values: number[][] = [];
    for (let width = 0; width <= MAX_PACKED_BITS; width++) {
      const top = width === 0 ? 0 : 2 ** width - 1;
      const run = [top, Math.floor(top / 3), 0, top > 0 ? 2 ** (width - 1) : 0];
      values.push(run);
      writer.writeRun(run);
      writer.write(width % 2, 1);
    }
    writer.writeRun([], 0);
    const reader = new BitReader();
    reader.reset(Buffer.from(writer.view()), 0);
    for (const [width, run] of values.entries()) {
      const stored = reader.readWidth(run.length);
      expect(stored).toBe(width === 0 ? 0 : width);
      expect(run.map(() => reader.read(stored))).toStrictEqual(run);
      expect(reader.read(1)).toBe(width % 2);
    }
    expect(reader.overran).toBe(false);
    expect(reader.atEnd).toBe(true);
    expect(bitWidth(2 ** 53 - 1)).toBe(53);
  });

  it("refuse a value wider than 53 bits", () => {
    expect(() => new BitWriter().writeRun([2 ** 53])).toThrow(/wider than 53 bits/);
  });
});

type PackedSection = { at: number; mode: number; countsFollow: boolean; copyOf?: number };

/**
 * Where each section of a version-3 summary starts (a bit offset) and its mode, walking the
 * layout in docs/storage-format.md with a reader of its own.
 */
function packedSections(blob: Uint8Array): PackedSection[] {
  let byte = 1;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const next = blob[byte++];
      value += (next & 0x7f) * 2 ** shift;
      if (!(next & 0x80)) return value;
    }
  };
  const periods = varint();
  varint(); // the first start, zigzagged
  const sections = varint() + varint();
  let bit = byte * 8;
  const read = (bits: number) => {
    let value = 0;
    for (let i = 0; i < bits; i++, bit++) value += ((blob[bit >>> 3] >>> (bit & 7)) & 1) * 2 ** i;
    return value;
  };
  const run = (count: number) => {
    if (count === 0) return [];
    const width = read(6);
    return Array.from({ length: count }, () => read(width));
  };
  run(Math.max(0, periods - 1));
  const rowCounts = run(periods);
  const found: PackedSection[] = [];
  for (let i = 0; i < sections; i++) {
    const section: PackedSection = { at: bit, mode: read(3), countsFollow: read(1) === 1 };
    found.push(section);
    if (section.mode === 5) section.copyOf = run(1)[0];
    if (section.mode === 0 || section.mode === 5) continue;
    const counts = section.countsFollow ? run(periods) : rowCounts;
    const withValues = counts.filter((count) => count > 0).length;
    // Mode 6 (zeros) holds nothing past its counts.
    if (section.mode === 1) run(1);
    if (section.mode === 3) {
      read(1);
      run(withValues);
    }
    if (section.mode === 4) read(withValues * 3 * 64);
    if (section.mode === 2) {
      run(1);
      run(withValues - 1);
      const spreads = run(1);
      for (const difference of run(withValues - 1)) spreads.push(spreads[spreads.length - 1] + unzigzag(difference));
      run(spreads.filter((spread) => spread > 0).length);
    }
  }
  expect(blob.length * 8 - bit).toBeLessThan(8);
  return found;
}

function setBits(blob: Uint8Array, at: number, count: number): void {
  for (let i = 0; i < count; i++) blob[(at + i) >>> 3] |= 1 << ((at + i) & 7);
}

function writeBits(blob: Uint8Array, at: number, count: number, value: number): void {
  for (let i = 0; i < count; i++) {
    const bit = at + i;
    if ((value >>> i) & 1) blob[bit >>> 3] |= 1 << (bit & 7);
    else blob[bit >>> 3] &= ~(1 << (bit & 7));
  }
}

const unzigzag = (value: number) => (value % 2 === 1 ? -(value + 1) / 2 : value / 2);

const bitWidthOf = (value: number) => (value === 0 ? 0 : 32 - Math.clz32(value));

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
