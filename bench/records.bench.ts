/**
 * Throughput of the read path after the codec, on the same realistic 600-row chunk as
 * bench/chunk-codec.bench.ts: stored rows to named samples (what the history hands out),
 * named samples to REST records, and named samples straight to JSON text.
 *   npx tsx bench/records.bench.ts
 */
import { sampleRecord } from "../src/server/rest/records";
import { sampleRecordJson } from "../src/server/rest/records-json";
import { namedSample, type StoredGpu } from "../src/server/storage/telemetry-store";
import { realisticChunk } from "../tests/helpers/realistic-chunk";
import { measure } from "./lib/measure";

const gpu: StoredGpu = {
  id: 1,
  uuid: "GPU-0b7d6a64-2f1e-4c33-9a3e-6f3d5a1c2b10",
  index: 0,
  name: "NVIDIA H200",
  memoryTotalMib: 143771,
  powerLimitW: 700,
  maxGraphicsClockMhz: 1980,
  maxMemoryClockMhz: 3201,
  baseClockMhz: 1365,
  driverVersion: "580.159.04",
  firstSeen: 0,
  lastSeen: 0,
};
const rows = realisticChunk();
const samples = rows.map((row) => namedSample(gpu, row));

measure("namedSample", rows.length, () => {
  for (const row of rows) namedSample(gpu, row);
});
measure("sampleRecord", rows.length, () => {
  for (const sample of samples) sampleRecord(sample);
});
measure("sampleRecordJson", rows.length, () => {
  for (const sample of samples) sampleRecordJson(sample);
});
