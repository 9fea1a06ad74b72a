import { describe, expect, it } from "vitest";
import { ExactColumns } from "../../src/server/storage/exact-columns";

describe("exact columns", () => {
  it("make each column of the values written since the last, nulls where they were, however long the one before", () => {
    const columns = new ExactColumns();
    for (let i = 0; i < 5; i++) columns.set(i, i * 1.5);
    const first = columns.take(5);
    [7, null, 9].forEach((value, i) => columns.set(i, value));
    const second = columns.take(3);
    [null, 2 ** 40].forEach((value, i) => columns.set(i, value));
    const third = columns.take(2);
    expect(first).toEqual([0, 1.5, 3, 4.5, 6]);
    expect(second).toEqual([7, null, 9]);
    expect(third).toEqual([null, 2 ** 40]);
    // Each its own array: writing the next column changes none before it.
    expect(first).toHaveLength(5);
    expect(columns.take(0)).toEqual([]);
  });
});
