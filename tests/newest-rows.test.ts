import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChunkRow } from "../src/server/storage/chunk-columns";
import { NewestRows, newestCandidateFirst, type Candidate } from "../src/server/storage/newest-rows";
import type { StoredGpu } from "../src/server/storage/telemetry-store";
import { noMetrics } from "../src/server/sources/types";

const gpu = (index: number): StoredGpu => ({ id: index + 1, uuid: `GPU-${index}`, index, name: "test" }) as StoredGpu;
const row = (timestamp: number): ChunkRow => ({ timestamp, ...noMetrics() });

// Blocks of a few GPUs, in time order or shuffled, with repeated timestamps across GPUs.
const block = fc.record({
  gpuIndex: fc.nat(3),
  timestamps: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 30 }),
  ordered: fc.boolean(),
});

describe("NewestRows (the newest-first history read)", () => {
  it("keeps exactly what sorting every row in the window and taking the first `limit` keeps", () => {
    fc.assert(
      fc.property(fc.array(block, { maxLength: 8 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 30, max: 60 }), (blocks, limit, from, to) => {
        const newest = new NewestRows(limit);
        const all: Candidate[] = [];
        for (const b of blocks) {
          const timestamps = b.ordered ? [...b.timestamps].sort((x, y) => x - y) : b.timestamps;
          const rows = timestamps.map(row);
          newest.addBlock(gpu(b.gpuIndex), rows, from, to);
          for (const r of rows) if (r.timestamp >= from && r.timestamp <= to) all.push({ gpu: gpu(b.gpuIndex), row: r, timestamp: r.timestamp, gpuIndex: b.gpuIndex });
        }
        const expected = all.sort(newestCandidateFirst).slice(0, limit);
        const kept = newest.sorted();
        expect(kept.map((c) => [c.row.timestamp, c.gpu.index])).toEqual(expected.map((c) => [c.row.timestamp, c.gpu.index]));
        expect(newest.full).toBe(expected.length === limit);
        if (newest.full) expect(newest.oldestKept).toBe(expected[limit - 1].row.timestamp);
      }),
      { numRuns: 1000 },
    );
  });
});
