/**
 * Run by tests/unit/appended-metric.test.ts inside a copy of the source tree whose catalogue
 * ends with one more metric, `throwawayWatts` (REST `throwaway_watts`, Prometheus
 * `NVOC_TEST_THROWAWAY_WATTS`), plus the migration that adds its RecentSample column: what a
 * new metric takes. Prints, as JSON, what each derived part made of it.
 *   npx tsx tests/helpers/appended-metric-check.ts <folder for databases> <repo with the v1 fixtures>
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { MemoryErrorReader } from "../../src/server/collector/memory-error-reader";
import { ProcessReader } from "../../src/server/collector/process-reader";
import { createMetricsRegistry } from "../../src/server/metrics/prometheus-metrics";
import { RefusedRequests } from "../../src/server/refused-requests";
import { sampleRecord } from "../../src/server/rest/records";
import { sampleRecordsJson } from "../../src/server/rest/records-json";
import { historyRecord } from "../../src/server/storage/history-record";
import { storableValue } from "../../src/server/sources/storable-readings";
import { decodeChunk } from "../../src/server/storage/chunk-codec";
import { emptySummary, mergeEncodedSummary, metricStats } from "../../src/server/storage/metric-summary";
import { mergeStoredSummary } from "../../src/server/storage/period-summaries";
import { newestRows } from "../../src/server/storage/telemetry-queries";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import type { MetricKey } from "../../src/telemetry/types";
import { ManualSource } from "./manual-source";
import { migratedSummary } from "./summary-migration";
import { silentLog, startPipeline } from "./pipeline";
import { simulatedSamples } from "./samples";

const [dir, fixtureRepo] = process.argv.slice(2);
const appended = "throwawayWatts" as MetricKey;
const fixture = (name: string) => readFileSync(path.join(fixtureRepo, "tests", "fixtures", "storage", name));

const oldRows = decodeChunk(fixture("chunk-v1-realistic.bin"));
const oldVersion2Rows = decodeChunk(fixture("chunk-v2-realistic.bin"));
const oldSummary = emptySummary();
mergeEncodedSummary(oldSummary, migratedSummary(fixture("summary-v1-realistic.bin")));
const oldMinutes = emptySummary();
mergeStoredSummary(oldMinutes, fixture("periods-v2-realistic.bin"));

const { infos, samples } = simulatedSamples({ gpus: 1, count: 10, start: 1_780_000_000_000 });
const readings = samples.map((sample, i) => ({ ...sample, [appended]: 12.3 + i }));
const everything = { from: 0, to: Number.MAX_SAFE_INTEGER };

const { store } = TelemetryStore.open(path.join(dir, "store.db"), { chunkMaxRows: 4, slotMs: 600_000 });
store.registerGpus(infos);
store.writeSamples(readings, (uuid) => infos.find((info) => info.uuid === uuid));
const history = newestRows(store, everything, 100).map(({ gpu, row }) => historyRecord(gpu, row));
const sealed = store.chunkSummaryRows(store.resolveGpuIds(), everything.from, everything.to);
const sealedSummary = emptySummary();
for (const [, , summary] of sealed) mergeStoredSummary(sealedSummary, summary);
store.close();

const source = new ManualSource();
const pipeline = await startPipeline(source, path.join(dir, "pipeline.db"), 100_000);
source.sink!.gpus(infos);
await source.sink!.samples(readings.slice(-1));
const memoryHealth = new MemoryErrorReader({ source, indexOf: () => 0, log: silentLog });
const processes = new ProcessReader({ source, indexOf: () => 0, log: silentLog, commandLines: true });
const exposition = await createMetricsRegistry({
  collector: pipeline.collector,
  storage: pipeline.storage,
  memoryHealth,
  processes,
  source,
  refusedRequests: new RefusedRequests(silentLog),
}).metrics();
await pipeline.stop();

console.log(
  JSON.stringify({
    oldChunkValues: [...new Set(oldRows.map((row) => row[appended]))],
    oldChunkPowerDraw: oldRows.slice(0, 3).map((row) => row.powerDrawW),
    oldVersion2ChunkValues: [...new Set(oldVersion2Rows.map((row) => row[appended]))],
    oldVersion2ChunkPowerDraw: oldVersion2Rows.slice(0, 3).map((row) => row.powerDrawW),
    oldSummaryCount: metricStats(oldSummary, appended).count,
    oldMinutesCount: metricStats(oldMinutes, appended).count,
    sealedChunks: sealed.length,
    sealedStats: metricStats(sealedSummary, appended),
    history: history.map((record) => record[appended]),
    records: history.map((record) => sampleRecord(record)).map((record) => (record as Record<string, unknown>).throwaway_watts),
    json: (JSON.parse(sampleRecordsJson(history).toString()) as Array<Record<string, unknown>>).map((record) => record.throwaway_watts),
    prometheus: exposition.split("\n").filter((line) => line.startsWith("NVOC_TEST_THROWAWAY_WATTS")),
    belowMinimum: storableValue(appended, -1) ?? "rejected",
  }),
);
