import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ChunkRow } from "../../src/server/storage/chunk-columns";
import { mergeNewest } from "../../src/server/storage/newest-rows";
import type { SampleBlock, StoredGpu } from "../../src/server/storage/telemetry-store";
import { noMetrics } from "../../src/telemetry/types";

const SLOT = 10;
const gpu = (index: number): StoredGpu => ({ id: index + 1, uuid: `GPU-${index}`, index, name: "test" }) as StoredGpu;
const row = (timestamp: number): ChunkRow => ({ timestamp, ...noMetrics() });

function blockOf(gpuIndex: number, timestamps: number[], sealed: boolean): SampleBlock {
  return { gpu: gpu(gpuIndex), startTs: Math.min(...timestamps), endTs: Math.max(...timestamps), rows: timestamps.map(row), sealed };
}

// Open blocks hold any timestamps; a sealed block's rows lie in one slot. Some blocks keep write order, some not.
const rowsOf = (timestamps: number[], ordered: boolean) => (ordered ? [...timestamps].sort((x, y) => x - y) : timestamps);
const openBlock = fc
  .record({
    gpuIndex: fc.nat(3),
    timestamps: fc.array(fc.integer({ min: 0, max: 80 }), { minLength: 1, maxLength: 30 }),
    ordered: fc.boolean(),
  })
  .map((b) => blockOf(b.gpuIndex, rowsOf(b.timestamps, b.ordered), false));
const sealedBlock = fc
  .record({
    gpuIndex: fc.nat(3),
    slot: fc.nat(7),
    offsets: fc.array(fc.nat(SLOT - 1), { minLength: 1, maxLength: 10 }),
    ordered: fc.boolean(),
  })
  .map((b) =>
    blockOf(
      b.gpuIndex,
      rowsOf(
        b.offsets.map((o) => b.slot * SLOT + o),
        b.ordered,
      ),
      true,
    ),
  );

/** As the store yields them: open blocks, then sealed ones newest slot first. */
const storeOrder = (open: SampleBlock[], sealed: SampleBlock[]) => [
  ...open,
  ...[...sealed].sort((a, b) => Math.floor(b.startTs / SLOT) - Math.floor(a.startTs / SLOT)),
];

describe("mergeNewest (the newest-first history read)", () => {
  it("answers exactly what sorting every row in the window and taking the first `limit` answers", () => {
    fc.assert(
      fc.property(
        fc.array(openBlock, { maxLength: 4 }),
        fc.array(sealedBlock, { maxLength: 10 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 30, max: 90 }),
        (open, sealed, limit, from, to) => {
          const blocks = storeOrder(open, sealed);
          const all = blocks.flatMap((b) =>
            b.rows.filter((r) => r.timestamp >= from && r.timestamp <= to).map((r) => [r.timestamp, b.gpu.index]),
          );
          const expected = all.sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, limit);
          const merged = mergeNewest(blocks.values(), { from, to, limit, slotMs: SLOT });
          expect(merged.map(({ row, gpu }) => [row.timestamp, gpu.index])).toEqual(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("reads no sealed block past the first when the open rows answer", () => {
    const open = Array.from({ length: 8 }, (_, i) =>
      blockOf(
        i,
        Array.from({ length: 200 }, (_, t) => 10_000 + t),
        false,
      ),
    );
    const sealed = Array.from({ length: 50 }, (_, k) => blockOf(k % 8, [9_000 - k * SLOT], true));
    let read = 0;
    const counted = (function* () {
      for (const block of storeOrder(open, sealed)) {
        read++;
        yield block;
      }
    })();
    const merged = mergeNewest(counted, { from: 0, to: Infinity, limit: 1000, slotMs: SLOT });
    expect(merged).toHaveLength(1000);
    expect(merged.at(-1)!.row.timestamp).toBe(10_075);
    expect(read).toBe(9);
  });
});
