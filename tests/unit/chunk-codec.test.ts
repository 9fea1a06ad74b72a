import { crc32, deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { METRIC_DECIMALS, METRIC_KEYS, type GpuMetrics } from "../../src/telemetry/types";
import { readFileSync } from "node:fs";
import {
  CHUNK_FORMAT_VERSION,
  ChunkCorruptError,
  decodeChunk,
  decodeChunkColumns,
  encodeChunk,
  encodeChunkVersion1,
  type ChunkRow,
} from "../../src/server/storage/chunk-codec";
import { fixturePath } from "../helpers/fixtures";
import { fixtureRows, realisticChunk } from "../helpers/realistic-chunk";

// ---- data builders ---------------------------------------------------------------------------

function nullMetrics(): GpuMetrics {
  return Object.fromEntries(METRIC_KEYS.map((key) => [key, null])) as unknown as GpuMetrics;
}

function rowAt(timestamp: number, metrics: Partial<GpuMetrics> = {}): ChunkRow {
  return { timestamp, ...nullMetrics(), ...metrics };
}

/** What a round trip must give back: every value at its metric's declared decimals. */
function storedForm(rows: readonly ChunkRow[]): ChunkRow[] {
  return rows.map((row) => {
    const stored: ChunkRow = { ...row };
    for (const key of METRIC_KEYS) {
      const value = row[key];
      const scale = 10 ** METRIC_DECIMALS[key];
      stored[key] = value === null ? null : Math.round(value * scale) / scale;
    }
    return stored;
  });
}

function nanAsNull(row: ChunkRow): Partial<GpuMetrics> {
  return Object.fromEntries(METRIC_KEYS.map((key) => [key, Number.isNaN(row[key]) ? null : row[key]]));
}

function expectRoundTrip(rows: readonly ChunkRow[]): Buffer {
  const blob = encodeChunk(rows);
  expect(decodeChunk(blob)).toStrictEqual(storedForm(rows));
  return blob;
}

// ---- tests -------------------------------------------------------------------------------------

describe("chunk codec round trip", () => {
  it("reproduces the real 1 Hz capture exactly", () => {
    const rows = fixtureRows();
    expect(rows).toHaveLength(20);
    expect(rows[0].powerDrawW).toBe(78.93);
    expect(rows[0].fanSpeedPct).toBeNull();
    const decoded = decodeChunk(encodeChunk(rows));
    expect(decoded).toStrictEqual(rows);
    expect(decoded.every((row) => row.fanSpeedPct === null)).toBe(true);
  });

  it("stores 600 realistic 1 Hz rows in under 2.5 bytes per row, a quarter less than version 1", () => {
    const rows = realisticChunk();
    const blob = expectRoundTrip(rows);
    const bytesPerRow = blob.length / rows.length;
    console.log(`chunk codec: ${rows.length} realistic rows -> ${blob.length} bytes = ${bytesPerRow.toFixed(2)} bytes/row`);
    expect(bytesPerRow).toBeLessThan(2.5);
    expect(blob.length).toBeLessThan(0.8 * encodeChunkVersion1(rows).length);
  });

  it("codes an SM clock that repeats the graphics clock in next to nothing", () => {
    const rows = realisticChunk();
    expect(rows.every((row) => row.smClockMhz === row.graphicsClockMhz)).toBe(true);
    const withoutSm = encodeChunk(rows.map((row) => ({ ...row, smClockMhz: null }))).length;
    expect(encodeChunk(rows).length - withoutSm).toBeLessThan(8);
  });

  it("gives every row exactly the timestamp and metric keys", () => {
    const [decoded] = decodeChunk(encodeChunk(fixtureRows().slice(0, 1)));
    expect(Object.keys(decoded).sort()).toStrictEqual(["timestamp", ...METRIC_KEYS].sort());
  });

  it("keeps columns that are null in every row null", () => {
    const rows = [rowAt(1_000), rowAt(2_000), rowAt(3_000)];
    const decoded = decodeChunk(encodeChunk(rows));
    expect(decoded).toStrictEqual(rows);
  });

  it("keeps nulls mixed with values where they were, never turning them into 0", () => {
    const rows: ChunkRow[] = [];
    for (let i = 0; i < 29; i++) {
      rows.push(
        rowAt(1_700_000_000_000 + i * 1000, {
          temperatureC: i % 3 === 0 ? null : 30 + (i % 5),
          powerDrawW: i % 7 === 2 ? null : 80 + i / 100,
          // Constant apart from its nulls, first and last row included.
          memoryTotalMib: i === 0 || i === 28 || i === 13 ? null : 143771,
          clockEventReasons: i === 5 ? 0 : null,
          pstate: i % 2 === 0 ? 0 : null,
        }),
      );
    }
    expectRoundTrip(rows);
    const decoded = decodeChunk(encodeChunk(rows));
    expect(decoded[0].temperatureC).toBeNull();
    expect(decoded[0].memoryTotalMib).toBeNull();
    expect(decoded[1].memoryTotalMib).toBe(143771);
    expect(decoded[5].clockEventReasons).toBe(0);
    expect(decoded[6].clockEventReasons).toBeNull();
  });

  it("handles negative values", () => {
    expectRoundTrip([
      rowAt(0, { temperatureC: -40, memoryTemperatureC: -1, powerDrawW: -12.34 }),
      rowAt(1000, { temperatureC: -3, memoryTemperatureC: 5, powerDrawW: 0.01 }),
      rowAt(2000, { temperatureC: 12, memoryTemperatureC: -7, powerDrawW: -0.01 }),
    ]);
  });

  it("keeps huge bitmask values exact up to 2^53", () => {
    const huge = [2 ** 53, 0, 2 ** 53 - 1, 2 ** 52 + 1, 1, -(2 ** 53), 0xffffffff, 2 ** 31, -(2 ** 31)];
    expectRoundTrip(huge.map((value, i) => rowAt(i * 1000, { clockEventReasons: value })));
    // Delta-coded range edge: deltas of ±2^53 between ±2^52.
    const edge = [2 ** 52, -(2 ** 52), 2 ** 52, 2 ** 40 + 3, -(2 ** 30) - 1, 2 ** 30, 0x3fffffff];
    expectRoundTrip(edge.map((value, i) => rowAt(i * 1000, { clockEventReasons: value, memoryUsedMib: -value })));
    expectRoundTrip([rowAt(0, { clockEventReasons: 2 ** 53 }), rowAt(1000, { clockEventReasons: 2 ** 53 })]);
  });

  it("rounds two-decimal metrics to exactly two decimals", () => {
    const rows = [
      rowAt(0, { powerDrawW: 78.88, powerLimitW: 700 }),
      rowAt(1000, { powerDrawW: 0.1 + 0.2, powerLimitW: 699.99 }),
      rowAt(2000, { powerDrawW: 123.456, powerLimitW: 1_000_000_000.07 }),
    ];
    const decoded = decodeChunk(encodeChunk(rows));
    expect(decoded.map((row) => row.powerDrawW)).toStrictEqual([78.88, 0.3, 123.46]);
    expect(decoded.map((row) => row.powerLimitW)).toStrictEqual([700, 699.99, 1_000_000_000.07]);
  });

  it("keeps timestamps that jump back, repeat or jitter", () => {
    const timestamps = [
      1_764_124_057_389,
      1_764_124_058_407,
      1_764_124_058_407,
      1_764_124_058_407,
      1_764_124_054_000,
      1_764_124_055_003,
      1_764_127_655_003,
      0,
      -5_000,
      1_764_124_056_001,
      2 ** 50,
      -(2 ** 50),
    ];
    expectRoundTrip(timestamps.map((timestamp, i) => rowAt(timestamp, { temperatureC: 30 + i })));
  });

  it("handles a single row", () => {
    expectRoundTrip([fixtureRows()[0]]);
    expectRoundTrip([rowAt(123)]);
  });

  it("handles zero rows", () => {
    const blob = expectRoundTrip([]);
    expect(decodeChunk(blob)).toStrictEqual([]);
  });

  it("returns results that later calls do not disturb", () => {
    const first = realisticChunk(50);
    const second = realisticChunk(70).map((row) => ({ ...row, temperatureC: null }));
    const firstBlob = encodeChunk(first);
    const firstBlobCopy = Buffer.from(firstBlob);
    const firstDecoded = decodeChunk(firstBlob);
    encodeChunk(second);
    decodeChunk(encodeChunk(second));
    expect(firstBlob).toStrictEqual(firstBlobCopy);
    expect(firstDecoded).toStrictEqual(storedForm(first));
  });
});

describe("chunk codec format and errors", () => {
  it("starts the blob with the uncompressed format version", () => {
    const blob = encodeChunk(fixtureRows());
    expect(Buffer.isBuffer(blob)).toBe(true);
    expect(blob[0]).toBe(CHUNK_FORMAT_VERSION);
  });

  it("rejects an unknown format version with a clear message", () => {
    const blob = Buffer.from(encodeChunk(fixtureRows()));
    blob[0] = 99;
    expect(() => decodeChunk(blob)).toThrow(/unsupported chunk format version 99/);
  });

  it("rejects corrupted and truncated blobs", () => {
    const blob = encodeChunk(realisticChunk(100));
    expect(() => decodeChunk(new Uint8Array(0))).toThrow(/corrupt chunk blob/);
    expect(() => decodeChunk(blob.subarray(0, blob.length >> 1))).toThrow(/corrupt chunk blob/);
    expect(() => decodeChunk(Uint8Array.from([CHUNK_FORMAT_VERSION, 0xff, 0xff, 0xff, 0x07]))).toThrow(ChunkCorruptError);
    expect(() => decodeChunk(Uint8Array.from([1, 0xff, 0xff, 0xff, 0x07]))).toThrow(ChunkCorruptError);
  });

  it("rejects payloads that inflate but do not hold a chunk", () => {
    const wrap = (payload: number[]) => Buffer.concat([Buffer.of(1), deflateRawSync(Buffer.from(payload))]);
    // Two rows, but the data ends inside the metric columns.
    expect(() => decodeChunk(wrap([2, 0x80, 0x01, 0x02]))).toThrow(/corrupt chunk blob/);
    // A varint that never ends.
    expect(() => decodeChunk(wrap([1, ...new Array<number>(12).fill(0xff)]))).toThrow(/corrupt chunk blob/);
    // An undefined column mode.
    expect(() => decodeChunk(wrap([1, 0, 0x05, ...new Array<number>(17).fill(0)]))).toThrow(/unknown column mode/);
    // Bytes left over after the last column.
    const valid = [1, 0, ...new Array<number>(18).fill(0)];
    expect(decodeChunk(wrap(valid))).toStrictEqual([rowAt(0)]);
    expect(() => decodeChunk(wrap([...valid, 0]))).toThrow(/corrupt chunk blob/);
  });

  it("rejects timestamps that are not integers and values that are not finite", () => {
    expect(() => encodeChunk([rowAt(1.5)])).toThrow(RangeError);
    expect(() => encodeChunk([rowAt(Number.NaN)])).toThrow(RangeError);
    expect(() => encodeChunk([rowAt(0, { temperatureC: Number.POSITIVE_INFINITY })])).toThrow(RangeError);
    expect(() => encodeChunk([rowAt(0, { clockEventReasons: 2 ** 54 })])).toThrow(RangeError);
  });
});

// ---- version 2 against version 1, and damage -----------------------------------------------------

const scaledValue = (decimals: number) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: -5000, max: 5000 }).map((value) => value / 10 ** decimals) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: -(2 ** 53), max: 2 ** 53 })
        .map((value) => (decimals === 0 ? value : Math.trunc(value / 1000) / 10 ** decimals) + 0),
    }, // + 0: no -0
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constant(Number.NaN) },
  );

/** Chunks of up to 40 rows: metrics that hold still, wander, jump to 2^53, go null or NaN; timestamps that jitter or jump. */
const arbitraryChunk = fc
  .tuple(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
    fc.array(fc.integer({ min: -3000, max: 60_000 }), { maxLength: 40 }),
    fc.array(fc.boolean(), { minLength: METRIC_KEYS.length, maxLength: METRIC_KEYS.length }),
    fc.array(fc.tuple(...METRIC_KEYS.map((key) => scaledValue(METRIC_DECIMALS[key]))), { minLength: 40, maxLength: 40 }),
  )
  .map(([first, steps, holdsStill, values]) => {
    let timestamp = first;
    return [0, ...steps].map((step, i) => {
      timestamp += step;
      const row = rowAt(timestamp);
      METRIC_KEYS.forEach((key, m) => {
        row[key] = holdsStill[m] ? values[0][m] : values[i][m];
      });
      return row;
    });
  });

/** Recomputes a version-2 blob's checksum, so that damage reaches the decoder behind it. */
function withChecksum(blob: Uint8Array): Buffer {
  const fixed = Buffer.from(blob);
  fixed.writeUInt32LE(crc32(fixed.subarray(5)), 1);
  return fixed;
}

describe("chunk format version 2", () => {
  it("stores exactly what version 1 stored, for whole rows and for some columns", () => {
    fc.assert(
      fc.property(arbitraryChunk, fc.uniqueArray(fc.nat(METRIC_KEYS.length - 1), { maxLength: 6 }), (rows, asked) => {
        const version1 = encodeChunkVersion1(rows);
        const version2 = encodeChunk(rows);
        expect(version1[0]).toBe(1);
        expect(version2[0]).toBe(2);
        expect(decodeChunk(version2)).toStrictEqual(decodeChunk(version1));
        expect(decodeChunk(version2)).toStrictEqual(storedForm(rows.map((row) => ({ ...row, ...nanAsNull(row) }))));
        const columns = asked.sort((a, b) => a - b);
        const fromVersion1 = decodeChunkColumns(version1, columns);
        const expected = {
          rowCount: fromVersion1.rowCount,
          timestamps: fromVersion1.timestamps,
          table: [...fromVersion1.table.subarray(0, columns.length * rows.length)],
        };
        const fromVersion2 = decodeChunkColumns(version2, columns);
        expect({
          rowCount: fromVersion2.rowCount,
          timestamps: fromVersion2.timestamps,
          table: [...fromVersion2.table.subarray(0, columns.length * rows.length)],
        }).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("gives a column asked after the one it is predicted from the same values as asked alone", () => {
    const rows = realisticChunk();
    const sm = METRIC_KEYS.indexOf("smClockMhz");
    const graphics = METRIC_KEYS.indexOf("graphicsClockMhz");
    const blob = encodeChunk(rows);
    const alone = [...decodeChunkColumns(blob, [sm]).table.subarray(0, rows.length)];
    const both = decodeChunkColumns(blob, [graphics, sm]).table;
    expect([...both.subarray(rows.length, 2 * rows.length)]).toStrictEqual(alone);
    expect(alone).toStrictEqual(rows.map((row) => row.smClockMhz));
  });

  it("decodes every column alone as among all of them, whether the power draw jumps or holds still", () => {
    // Power jumps of 250 W every 50 rows: the other columns code those rows in contexts of their own.
    const jumping = realisticChunk().map((row, i) => ({
      ...row,
      powerDrawW: Math.round(((row.powerDrawW ?? 0) + (Math.floor(i / 50) % 2) * 250) * 100) / 100,
    }));
    // Power within 2 W: no row marked, and a reader of other columns leaves the power draw alone.
    const steady = realisticChunk().map((row, i) => ({ ...row, powerDrawW: 300 + (i % 3) }));
    const every = METRIC_KEYS.map((_, column) => column);
    for (const rows of [jumping, steady]) {
      const blob = encodeChunk(rows);
      const all = [...decodeChunkColumns(blob, every).table.subarray(0, every.length * rows.length)];
      for (const column of every) {
        const alone = [...decodeChunkColumns(blob, [column]).table.subarray(0, rows.length)];
        expect(alone, METRIC_KEYS[column]).toStrictEqual(all.slice(column * rows.length, (column + 1) * rows.length));
      }
      expect(decodeChunk(blob)).toStrictEqual(decodeChunk(encodeChunkVersion1(rows)));
    }
  });

  it("refuses any damaged, truncated or extended blob as corrupt", () => {
    const blob = encodeChunk(realisticChunk(60));
    fc.assert(
      fc.property(
        fc.nat(blob.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(blob.length - 1),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        (at, flip, cut, extra) => {
          const damaged = Buffer.from(blob);
          damaged[at] ^= flip;
          if (at > 0) expect(() => decodeChunk(damaged)).toThrow(ChunkCorruptError);
          expect(() => decodeChunk(blob.subarray(0, cut))).toThrow(ChunkCorruptError);
          expect(() => decodeChunkColumns(blob.subarray(0, cut), [3])).toThrow(ChunkCorruptError);
          expect(() => decodeChunk(Buffer.concat([blob, extra]))).toThrow(ChunkCorruptError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("behind a matching checksum, decodes damage to some rows or refuses it as corrupt, never hanging or failing otherwise", () => {
    const blob = encodeChunk(realisticChunk(40));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 5, max: blob.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (flips) => {
          const damaged = Buffer.from(blob);
          for (const [at, flip] of flips) damaged[at] ^= flip;
          const fixed = withChecksum(damaged);
          for (const read of [() => decodeChunk(fixed).length, () => decodeChunkColumns(fixed, [0, 3, 6, 14]).rowCount]) {
            try {
              expect(read()).toBeGreaterThanOrEqual(0);
            } catch (error) {
              expect(error).toBeInstanceOf(ChunkCorruptError);
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("reading some columns of a chunk", () => {
  it("gives the asked columns exactly as a whole decode does, for every column mode and with nulls", () => {
    const fixtures = ["chunk-v1-every-mode.bin", "chunk-v1-realistic.bin"].map((name) => readFileSync(fixturePath("storage", name)));
    for (const blob of fixtures) {
      const rows = decodeChunk(blob);
      for (const asked of [[0], [3, 5, 12, 13], [2, 8, 15, 16, 18], METRIC_KEYS.map((_, m) => m)]) {
        const { rowCount, timestamps, table } = decodeChunkColumns(blob, asked);
        expect(rowCount).toBe(rows.length);
        expect(timestamps).toStrictEqual(rows.map((row) => row.timestamp));
        asked.forEach((m, k) => {
          const key = METRIC_KEYS[m];
          const scaled = rows.map((row) => (row[key] === null ? NaN : Math.round(row[key] * 10 ** METRIC_DECIMALS[key])));
          expect([...table.subarray(k * rowCount, (k + 1) * rowCount)], key).toStrictEqual(scaled);
        });
      }
    }
  });

  it("rejects a damaged column it skips as it does one it reads", () => {
    const blob = encodeChunk(realisticChunk());
    const damaged = Buffer.concat([blob.subarray(0, 1), deflateRawSync(Buffer.from([5, 0, 0, 0, 0, 0, 9]))]);
    expect(() => decodeChunkColumns(damaged, [17])).toThrow(ChunkCorruptError);
  });
});
