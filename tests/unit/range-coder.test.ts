import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_DIRECT_BITS, probabilities, RangeDecoder, RangeEncoder } from "../../src/server/storage/range-coder";

/** A symbol: an adaptive bit in one of four contexts, or a run of equiprobable bits. */
type Symbol = { kind: "bit"; context: number; bit: number } | { kind: "direct"; count: number; value: number };

// Spread into plain objects: fast-check's records have no prototype, which toStrictEqual tells apart.
const arbitrarySymbol: fc.Arbitrary<Symbol> = fc.oneof(
  fc.record({ kind: fc.constant("bit" as const), context: fc.nat(3), bit: fc.nat(1) }).map((symbol) => ({ ...symbol })),
  fc
    .integer({ min: 1, max: MAX_DIRECT_BITS })
    .chain((count) =>
      fc
        .record({ kind: fc.constant("direct" as const), count: fc.constant(count), value: fc.nat(2 ** count - 1) })
        .map((symbol) => ({ ...symbol })),
    ),
);

function encode(symbols: readonly Symbol[]): Uint8Array {
  const encoder = new RangeEncoder(16);
  const model = probabilities(4);
  for (const symbol of symbols) {
    if (symbol.kind === "bit") encoder.encodeBit(model, symbol.context, symbol.bit);
    else encoder.encodeDirect(symbol.value, symbol.count);
  }
  return Uint8Array.from(encoder.finish());
}

function decode(bytes: Uint8Array, shapes: readonly Symbol[]): Symbol[] {
  const decoder = new RangeDecoder();
  decoder.open(bytes, 0, bytes.length);
  const model = probabilities(4);
  return shapes.map((shape) =>
    shape.kind === "bit"
      ? { kind: "bit", context: shape.context, bit: decoder.decodeBit(model, shape.context) }
      : { kind: "direct", count: shape.count, value: decoder.decodeDirect(shape.count) },
  );
}

describe("range coder", () => {
  it("decodes every mix of adaptive and equiprobable bits to what was encoded", () => {
    fc.assert(
      fc.property(fc.array(arbitrarySymbol, { maxLength: 400 }), (symbols) => {
        expect(decode(encode(symbols), symbols)).toStrictEqual(symbols);
      }),
      { numRuns: 500 },
    );
  });

  it("writes nothing for an empty stream and about a byte to close one", () => {
    expect(encode([])).toHaveLength(0);
    // 8000 bits that are nearly always 0 cost well under a byte each thousand.
    const quiet = encode(Array.from({ length: 8000 }, (_, i): Symbol => ({ kind: "bit", context: 0, bit: i === 4000 ? 1 : 0 })));
    expect(quiet.length).toBeLessThan(8);
    // 800 equiprobable bits take their 100 bytes and at most two more.
    const plain = encode(Array.from({ length: 50 }, (_, i): Symbol => ({ kind: "direct", count: 16, value: (i * 40503) & 0xffff })));
    expect(plain.length).toBeGreaterThanOrEqual(100);
    expect(plain.length).toBeLessThanOrEqual(102);
  });

  it("reads any bytes without failing: damage decodes to other bits", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(arbitrarySymbol, { maxLength: 200 }), (bytes, shapes) => {
        const decoded = decode(bytes, shapes);
        expect(decoded).toHaveLength(shapes.length);
        for (const symbol of decoded) {
          if (symbol.kind === "bit") expect([0, 1]).toContain(symbol.bit);
          else expect(symbol.value).toBeLessThan(2 ** symbol.count);
        }
      }),
    );
  });
});
