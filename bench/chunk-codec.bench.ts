/**
 * Throughput and size of the chunk codec on one realistic 600-row, 1 Hz chunk (the same data
 * tests/chunk-codec.test.ts sizes): an idle plateau replayed from the H200 capture, then a load phase.
 *   npx tsx bench/chunk-codec.bench.ts            encode/decode speed and bytes per row
 *   npx tsx bench/chunk-codec.bench.ts --levels   also size and speed of each deflate level
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { decodeChunk, encodeChunk } from "../src/server/storage/chunk-codec";
import { realisticChunk } from "../tests/helpers/realistic-chunk";
import { measure } from "./lib/measure";

const rows = realisticChunk();
const blob = encodeChunk(rows);
console.log(`chunk: ${rows.length} rows -> ${blob.length} bytes = ${(blob.length / rows.length).toFixed(2)} bytes/row`);
measure("encode", rows.length, () => encodeChunk(rows));
measure("decode", rows.length, () => decodeChunk(blob));

if (process.argv.includes("--levels")) {
  const payload = inflateRawSync(blob.subarray(1));
  for (const level of [1, 3, 6, 9]) {
    const bytesPerRow = (deflateRawSync(payload, { level }).length + 1) / rows.length;
    measure(`deflate level ${level} (${bytesPerRow.toFixed(2)} bytes/row)`, rows.length, () => deflateRawSync(payload, { level }));
  }
}
