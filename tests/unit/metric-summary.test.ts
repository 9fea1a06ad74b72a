import { describe, expect, it } from "vitest";
import { METRIC_KEYS, type GpuMetrics } from "../../src/telemetry/types";
import type { ChunkRow } from "../../src/server/storage/chunk-columns";
import { decodeChunk, encodeChunk } from "../../src/server/storage/chunk-codec";
import { emptySummary, mergeEncodedSummary, metricStats, summarizeRows } from "../../src/server/storage/metric-summary";
import { encodeSummary } from "../helpers/summary-v1-writer";
import { realisticChunk } from "../helpers/realistic-chunk";

function rowAt(timestamp: number, metrics: Partial<GpuMetrics> = {}): ChunkRow {
  const nulls = Object.fromEntries(METRIC_KEYS.map((key) => [key, null])) as unknown as GpuMetrics;
  return { timestamp, ...nulls, ...metrics };
}

/** Through its stored form, as the store keeps it beside each chunk. */
const stored = (rows: ChunkRow[]) => {
  const summary = emptySummary();
  mergeEncodedSummary(summary, encodeSummary(summarizeRows(rows)));
  return summary;
};

describe("metric summaries", () => {
  it("give min, max, count and mean over non-null values, negative ones included", () => {
    const summary = stored([
      rowAt(5_000, { temperatureC: 33, powerDrawW: 78.88, fanSpeedPct: null, memoryTemperatureC: -2 }),
      rowAt(3_000, { temperatureC: null, powerDrawW: 690.12, memoryTemperatureC: 4 }),
      rowAt(9_000, { temperatureC: 58, powerDrawW: null, memoryTemperatureC: -7 }),
      rowAt(4_000, { temperatureC: 40, powerDrawW: 0.01, memoryTemperatureC: null }),
    ]);
    expect(metricStats(summary, "temperatureC")).toStrictEqual({ count: 3, min: 33, max: 58, avg: 43.67 });
    expect(metricStats(summary, "powerDrawW")).toStrictEqual({ count: 3, min: 0.01, max: 690.12, avg: 256.34 });
    expect(metricStats(summary, "memoryTemperatureC")).toStrictEqual({ count: 3, min: -7, max: 4, avg: -1.67 });
    expect(metricStats(summary, "fanSpeedPct")).toStrictEqual({ count: 0, min: null, max: null, avg: null });
  });

  it("sum two-decimal values without float drift", () => {
    const summary = stored(Array.from({ length: 600 }, (_, i) => rowAt(i * 1000, { powerDrawW: 78.88 })));
    expect(metricStats(summary, "powerDrawW")).toStrictEqual({ count: 600, min: 78.88, max: 78.88, avg: 78.88 });
  });

  it("match the decoded rows of a realistic chunk, and merge like the rows they sum", () => {
    const rows = realisticChunk();
    const decoded = decodeChunk(encodeChunk(rows));
    const power = decoded.map((row) => row.powerDrawW).filter((value): value is number => value !== null);
    const whole = stored(rows);
    expect(metricStats(whole, "powerDrawW")).toMatchObject({ count: 600, min: Math.min(...power), max: Math.max(...power) });
    expect(metricStats(whole, "fanSpeedPct").count).toBe(0);
    const halves = emptySummary();
    mergeEncodedSummary(halves, encodeSummary(summarizeRows(rows.slice(0, 250))));
    mergeEncodedSummary(halves, encodeSummary(summarizeRows(rows.slice(250))));
    expect(halves).toStrictEqual(whole);
  });

  it("describe no rows as nothing", () => {
    expect(metricStats(stored([]), "temperatureC")).toStrictEqual({ count: 0, min: null, max: null, avg: null });
  });
});
