import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, sampleRecord, type SampleSource } from "../../src/server/rest/records";
import { sampleRecordsJson } from "../../src/server/rest/records-json";
import { historyRecord } from "../../src/server/storage/history-record";
import { storableValue } from "../../src/server/sources/storable-readings";
import { decodeChunk, encodeChunk } from "../../src/server/storage/chunk-codec";
import { metricStats, summarizeRows } from "../../src/server/storage/metric-summary";
import type { StoredGpu } from "../../src/server/storage/telemetry-store";
import { METRIC_CATALOGUE, type MetricDefinition, type MetricKey } from "../../src/telemetry/metric-catalogue";
import { noMetrics } from "../../src/telemetry/types";

/**
 * Each part derived from the catalogue carries every entry, under its own name, with its own
 * value: a reading gives every metric a different value, so one metric read in another's
 * place shows. (tests/unit/appended-metric.test.ts adds an entry; tests/metrics.test.ts
 * checks the Prometheus names against a running server.)
 */

const catalogue = METRIC_CATALOGUE as readonly MetricDefinition[];
const keyOf = (metric: MetricDefinition) => metric.key as MetricKey;
/** Distinct per metric, and exact at each one's decimals. */
const valueOf = (metric: MetricDefinition) => (metric.column + 1) * 11 + (metric.decimals > 0 ? 0.25 : 0);

const gpu: StoredGpu = {
  id: 1,
  uuid: "GPU-1",
  index: 0,
  name: "NVIDIA H200",
  memoryTotalMib: null,
  powerLimitW: null,
  maxGraphicsClockMhz: null,
  maxMemoryClockMhz: null,
  baseClockMhz: null,
  driverVersion: null,
  firstSeen: 0,
  lastSeen: 0,
};
const row = {
  timestamp: 1_780_000_000_000,
  ...noMetrics(),
  ...Object.fromEntries(catalogue.map((metric) => [metric.key, valueOf(metric)])),
};

describe("the metric catalogue", () => {
  it("is stored and read back by the chunk codec and the summaries, column by column", () => {
    const [decoded] = decodeChunk(encodeChunk([row]));
    const summary = summarizeRows([row]);
    for (const metric of catalogue) {
      expect(decoded[keyOf(metric)], metric.key).toBe(valueOf(metric));
      expect(metricStats(summary, keyOf(metric)), metric.key).toStrictEqual({
        count: 1,
        min: valueOf(metric),
        max: valueOf(metric),
        avg: valueOf(metric),
      });
    }
  });

  it("names every metric in the tRPC history record, the REST record, its JSON and the CSV columns", () => {
    const record: SampleSource = historyRecord(gpu, row);
    const rest = sampleRecord(record) as unknown as Record<string, unknown>;
    const [json] = JSON.parse(sampleRecordsJson([record]).toString()) as Array<Record<string, unknown>>;
    for (const metric of catalogue) {
      expect(record[keyOf(metric)], metric.key).toBe(valueOf(metric));
      expect(rest[metric.restName], metric.restName).toBe(valueOf(metric));
      expect(json[metric.restName], metric.restName).toBe(valueOf(metric));
      expect(CSV_COLUMNS, metric.restName).toContain(metric.restName);
    }
  });

  it("keeps each metric's minimum and refuses what lies below it", () => {
    for (const metric of catalogue) {
      expect(storableValue(keyOf(metric), metric.minimum), metric.key).toBe(metric.minimum);
      expect(storableValue(keyOf(metric), metric.minimum - 1), metric.key).toBeUndefined();
    }
  });

  it("gives every metric its own name, REST name and Prometheus name", () => {
    for (const field of ["key", "restName"] as const) {
      expect(new Set(catalogue.map((metric) => metric[field])).size, field).toBe(catalogue.length);
    }
    const prometheusNames = catalogue.flatMap((metric) => (metric.prometheus ? [metric.prometheus.name] : []));
    expect(new Set(prometheusNames).size).toBe(prometheusNames.length);
  });
});
