import { describe, expect, it } from "vitest";
import { jsonPieces } from "../../src/server/http/json-pieces";
import { columnsOf, ScaledValues, writtenAs } from "../../src/telemetry/wire-columns";

const text = (value: unknown) => Buffer.concat(jsonPieces(value)).toString("utf8");

describe("jsonPieces", () => {
  it("writes what JSON.stringify writes, toJSON, left-out members and non-ASCII text included", () => {
    const values: unknown[] = [
      0,
      -0,
      "x",
      null,
      true,
      [undefined, () => 1, Symbol("s"), NaN, Infinity],
      { a: undefined, b: () => 1, c: { toJSON: () => undefined }, d: new Date(0), e: [1, { x: [2, { y: null }] }], f: {}, g: [] },
      { text: 'é ☃ \u2028 \ud83d\ude00 "quoted" \\ \n' },
      [[[]], [{}]],
      { toJSON: (key: string) => ({ key, nested: [1, 2] }) },
      Object.assign(Object.create(null) as object, { bare: [1] }),
      { boxed: [new Number(3), new String("s"), new Boolean(false)], map: new Map([[1, 2]]) },
      { columns: columnsOf({ a: new ScaledValues(2, [150, null]) }), plain: writtenAs({ hidden: 1 }, () => ({ shown: [1] })) },
      // Columns of integers are written digit by digit: signs, zeros, nulls and the ends of the safe range.
      [0, -0, 7, -7, 10, 99, 100, -1000, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, null],
      [1.5, 2, null],
      Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? null : (i - 10_000) * 1009)),
    ];
    for (const value of values) expect(text(value)).toBe(JSON.stringify(value));
  });

  it("gives nothing where JSON.stringify gives undefined", () => {
    expect(jsonPieces(undefined)).toEqual([]);
    expect(jsonPieces(() => 1)).toEqual([]);
  });

  it("never holds a large answer as one piece: each is at most about 16 KB past one leaf", () => {
    const gpus = Array.from({ length: 8 }, (_, gpu) => ({
      gpu,
      metrics: Object.fromEntries(["min", "max", "avg"].map((stat) => [stat, Array.from({ length: 1000 }, (_, i) => gpu * 1000 + i)])),
    }));
    const pieces = jsonPieces({ gpus });
    expect(Buffer.concat(pieces).toString()).toBe(JSON.stringify({ gpus }));
    const leaf = JSON.stringify(gpus[7].metrics.avg).length;
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) expect(piece.length).toBeLessThan(16 * 1024 + leaf + 64);
  });
});
