/**
 * Throughput of the read path after the codec, on the same realistic 600-row chunk as
 * bench/chunk-codec.bench.ts: stored rows to named samples (what the history hands out),
 * named samples to REST records, and named samples straight to JSON text.
 *   npx tsx bench/records.bench.ts
 */
import { sampleRecord } from "../src/server/rest/records";
import { sampleRecordJson } from "../src/server/rest/records-json";
import { namedSample, type StoredGpu } from "../src/server/storage/telemetry-store";
import { rowsToColumns } from "../src/server/storage/chunk-columns";
import { METRIC_KEYS } from "../src/telemetry/types";
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

// The plain alternative to code written from the catalogue: the same work as loops over the keys.
const loopNamedSample = (row: (typeof rows)[number]) => {
  const sample: Record<string, unknown> = { gpuIndex: gpu.index, gpuUuid: gpu.uuid, gpuName: gpu.name, timestamp: row.timestamp };
  for (const key of METRIC_KEYS) sample[key] = row[key];
  return sample;
};
measure("namedSample, loop over keys", rows.length, () => {
  for (const row of rows) loopNamedSample(row);
});
const table = new Float64Array(METRIC_KEYS.length * rows.length);
measure("rows to columns, loop over keys", rows.length, () => {
  for (let column = 0; column < METRIC_KEYS.length; column++) {
    const key = METRIC_KEYS[column];
    for (let i = 0; i < rows.length; i++) table[column * rows.length + i] = rows[i][key] ?? NaN;
  }
});
measure("rows to columns, written from the catalogue", rows.length, () => rowsToColumns(rows));
