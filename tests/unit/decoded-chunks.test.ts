import { describe, expect, it } from "vitest";
import { encodeChunk } from "../../src/server/storage/chunk-codec";
import { DECODED_ROW_BYTES, DecodedChunks } from "../../src/server/storage/decoded-chunks";
import { realisticChunk } from "../helpers/realistic-chunk";

const data = encodeChunk(realisticChunk(600));
const chunkBytes = 600 * DECODED_ROW_BYTES;

describe("decoded chunks kept in memory", () => {
  it("never hold more than their byte budget, however much was read", () => {
    const budget = 5 * chunkBytes + chunkBytes / 2;
    const chunks = new DecodedChunks(budget);
    for (let id = 1; id <= 40; id++) {
      chunks.decode({ id, data });
      expect(chunks.bytes).toBeLessThanOrEqual(budget);
    }
    expect(chunks.bytes).toBe(5 * chunkBytes);
    // The most recently read are the ones kept.
    expect(chunks.kept(40)).toBeDefined();
    expect(chunks.kept(36)).toBeDefined();
    expect(chunks.kept(35)).toBeUndefined();
  });

  it("hand out the kept rows again, and leave a walk's rows out when asked to", () => {
    const chunks = new DecodedChunks(10 * chunkBytes);
    const first = chunks.decode({ id: 1, data });
    expect(chunks.decode({ id: 1, data })).toBe(first);
    for (let id = 2; id <= 40; id++) chunks.decode({ id, data }, false);
    expect(chunks.bytes).toBe(chunkBytes);
    expect(chunks.kept(1)).toBe(first);
    // A walk still finds what is kept.
    expect(chunks.decode({ id: 1, data }, false)).toBe(first);
  });

  it("estimate at least what a decoded row costs on the heap", () => {
    // 473 bytes measured for 18 metrics on Node 20 (bench/MEMORY.md).
    expect(DECODED_ROW_BYTES).toBeGreaterThanOrEqual(473);
  });
});
