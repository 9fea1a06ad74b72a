import { describe, expect, it } from "vitest";
import { columnsOf, nullsOf, reviveColumns, ScaledValues, stepWire, wireTransformer, writtenAs } from "../../src/telemetry/wire-columns";

function throughJson(value: unknown): unknown {
  const revived: unknown = wireTransformer.output.deserialize(JSON.parse(JSON.stringify(wireTransformer.output.serialize(value))));
  return revived;
}

describe("wire columns", () => {
  it("write values with decimals as integers and read them back exactly", () => {
    const scaled = [68946, null, -1, 0, 12345678901, 1];
    const watts = new ScaledValues(2, scaled);
    expect(watts.values).toEqual([689.46, null, -0.01, 0, 123456789.01, 0.01]);
    expect(watts.wire()).toEqual({ $decimals: 2, scaled });
    const column = writtenAs({ values: watts.values }, () => ({ values: watts.wire() }));
    expect(JSON.stringify(column)).toBe(`{"values":{"$decimals":2,"scaled":[68946,null,-1,0,12345678901,1]}}`);
    expect(throughJson(column)).toEqual({ values: watts.values });
  });

  it("tell where a column is null from the integers it holds, and from plain values as they are", () => {
    const columns = columnsOf({ min: new ScaledValues(2, [7870, null, 7871]), max: new ScaledValues(0, [null, 3, 4]) });
    expect(nullsOf(columns, "min")).toEqual([7870, null, 7871]);
    expect(nullsOf(columns, "max")).toEqual([null, 3, 4]);
    expect(columns.min).toEqual([78.7, null, 78.71]);
    expect(nullsOf({ min: [1.5, null] }, "min")).toEqual([1.5, null]);
  });

  it("write whole numbers as they are", () => {
    const degrees = new ScaledValues(0, [47, null, 52]);
    expect(degrees.values).toEqual([47, null, 52]);
    expect(degrees.wire()).toEqual([47, null, 52]);
  });

  it("write bucket starts as steps, and starts off the grid as they are", () => {
    const starts = [1_796_280_000_000, 1_796_280_021_622, 1_796_280_064_866];
    expect(stepWire(starts, 21_622)).toEqual({ $step: 21_622, first: starts[0], steps: [1, 2] });
    expect(reviveColumns(stepWire(starts, 21_622))).toEqual(starts);
    expect(stepWire([5, 7], 3)).toEqual([5, 7]);
    expect(stepWire([1_796_280_000_123], 60_000)).toEqual({ $step: 60_000, first: 1_796_280_000_123, steps: [] });
    expect(reviveColumns(stepWire([1_796_280_000_123], 60_000))).toEqual([1_796_280_000_123]);
    expect(stepWire([], 10)).toEqual([]);
  });

  it("keep what they write out of sight: not enumerable, not in equality, not in a spread", () => {
    const value = writtenAs({ a: [1.5] }, () => ({ a: "written" }));
    expect(Object.keys(value)).toEqual(["a"]);
    expect(value).toEqual({ a: [1.5] });
    expect(JSON.stringify({ ...value })).toBe(`{"a":[1.5]}`);
    expect(JSON.stringify(value)).toBe(`{"a":"written"}`);
  });

  it("revive columns anywhere in an answer and leave everything else alone", () => {
    const answer = {
      nested: [{ deep: { $decimals: 4, scaled: [1234, null] } }, "text", 3, null],
      plain: { a: 1, b: [1, 2], c: { d: "e" } },
      t: { $step: 10, first: 100, steps: [1, 1, 3] },
    };
    expect(reviveColumns(answer)).toEqual({
      nested: [{ deep: [0.1234, null] }, "text", 3, null],
      plain: { a: 1, b: [1, 2], c: { d: "e" } },
      t: [100, 110, 120, 150],
    });
    // Inputs travel as they are.
    const input = { from: 1, metrics: ["powerDrawW"] };
    expect(wireTransformer.input.deserialize(wireTransformer.input.serialize(input))).toBe(input);
  });
});
