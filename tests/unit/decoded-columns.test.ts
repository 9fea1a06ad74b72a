import { describe, expect, it } from "vitest";
import { decodeChunkColumns, encodeChunk } from "../../src/server/storage/chunk-codec";
import { DecodedColumns } from "../../src/server/storage/decoded-columns";
import { METRIC_KEYS } from "../../src/telemetry/types";
import { realisticChunk } from "../helpers/realistic-chunk";

const data = encodeChunk(realisticChunk(600));
const other = encodeChunk(realisticChunk(300));
const columns = [METRIC_KEYS.indexOf("temperatureC"), METRIC_KEYS.indexOf("powerDrawW"), METRIC_KEYS.indexOf("gpuUtilizationPct")].sort(
  (a, b) => a - b,
);
/** Timestamps and three columns of 600 rows, 8 bytes a number. */
const entryBytes = 600 * 4 * 8;

function plainDecode(blob: Uint8Array, asked: readonly number[]) {
  const { rowCount, timestamps, table } = decodeChunkColumns(blob, asked);
  return { rowCount, timestamps: [...timestamps], table: [...table.subarray(0, rowCount * asked.length)] };
}

describe("decoded chart columns kept in memory", () => {
  it("are what decoding the chunk gives, and stay so after other chunks are decoded", () => {
    const cache = new DecodedColumns(10 * entryBytes);
    const kept = cache.decode(1, data, columns);
    cache.decode(2, other, columns);
    decodeChunkColumns(other, [0, 1, 2]);
    expect({ rowCount: kept.rowCount, timestamps: [...kept.timestamps], table: [...kept.table] }).toEqual(plainDecode(data, columns));
    expect(cache.decode(1, data, columns)).toBe(kept);
    // Other columns of the same chunk are another entry.
    const one = cache.decode(1, data, [columns[0]]);
    expect(one).not.toBe(kept);
    expect([...one.table]).toEqual(plainDecode(data, [columns[0]]).table);
  });

  it("never hold more than their byte budget, the most recently read kept", () => {
    const budget = 5 * entryBytes + entryBytes / 2;
    const cache = new DecodedColumns(budget);
    const first = cache.decode(1, data, columns);
    for (let id = 2; id <= 40; id++) {
      cache.decode(id, data, columns);
      expect(cache.bytes).toBeLessThanOrEqual(budget);
    }
    expect(cache.bytes).toBe(5 * entryBytes);
    const newest = cache.decode(40, data, columns);
    expect(cache.decode(40, data, columns)).toBe(newest);
    expect(cache.decode(1, data, columns)).not.toBe(first);
  });

  it("keep nothing that alone is over the budget", () => {
    const cache = new DecodedColumns(entryBytes / 2);
    const entry = cache.decode(1, data, columns);
    expect(entry.rowCount).toBe(600);
    expect(cache.bytes).toBe(0);
    expect(cache.decode(1, data, columns)).not.toBe(entry);
  });
});
