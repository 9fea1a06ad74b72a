import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, sampleRecord, type SampleSource } from "../../src/server/rest/records";
import { csvCell, sampleCsvLine } from "../../src/server/rest/records-csv";
import { isoText, RECORD_JSON_BYTES_KEPT, recordJsonCacheBytes, sampleRecordsJson } from "../../src/server/rest/records-json";
import { METRIC_KEYS } from "../../src/telemetry/types";

const metric = fc.option(
  fc.oneof(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.double(), fc.constantFrom(0.1, 79.19, 1e21, -0, 5e-324)),
  { nil: null },
);
const timestamp = fc.oneof(
  fc.integer({ min: 0, max: 4_102_444_800_000 }),
  fc.integer({ min: -8.64e15, max: 8.64e15 }),
  fc.constantFrom(0, 59_999, 60_000, 253_402_300_799_999, 253_402_300_800_000),
);

const sample: fc.Arbitrary<SampleSource> = fc.record({
  gpuIndex: fc.nat(64),
  gpuUuid: fc.string({ unit: "binary" }),
  gpuName: fc.oneof(
    fc.constant("NVIDIA H200"),
    fc.string({ unit: "grapheme" }),
    fc.constant('quote " backslash \\ newline \n tab \t \u0001'),
  ),
  timestamp,
  ...Object.fromEntries(METRIC_KEYS.map((key) => [key, metric])),
  clockEventReasons: fc.option(fc.oneof(fc.integer({ min: 0, max: 2 ** 32 }), fc.constantFrom(0, 1, 4, 0x20, 0x40, -1)), { nil: null }),
} as Record<keyof SampleSource, fc.Arbitrary<unknown>>) as fc.Arbitrary<SampleSource>;

describe("sample records written straight to JSON", () => {
  it("are byte for byte what JSON.stringify writes for the same records", () => {
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 20 }), (samples) => {
        expect(sampleRecordsJson(samples).toString()).toBe(JSON.stringify(samples.map(sampleRecord)));
      }),
      { numRuns: 500 },
    );
  });

  it("are the same bytes when frozen records come again, in any order", () => {
    fc.assert(
      fc.property(fc.array(sample, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 30 }), (pool, picks) => {
        const frozen = pool.map((s) => Object.freeze({ ...s }));
        const answer = picks.map((i) => frozen[i % frozen.length]);
        expect(sampleRecordsJson(frozen).toString()).toBe(JSON.stringify(frozen.map(sampleRecord)));
        expect(sampleRecordsJson(answer).toString()).toBe(JSON.stringify(answer.map(sampleRecord)));
      }),
      { numRuns: 300 },
    );
  });

  it("are written again for a record that was changed after an earlier answer", () => {
    const reading: SampleSource = {
      gpuIndex: 0,
      gpuUuid: "GPU-1",
      gpuName: "NVIDIA H200",
      timestamp: 1_780_000_000_000,
      ...(Object.fromEntries(METRIC_KEYS.map((key, i) => [key, i])) as Record<(typeof METRIC_KEYS)[number], number>),
    };
    expect(sampleRecordsJson([reading]).toString()).toBe(JSON.stringify([sampleRecord(reading)]));
    for (const key of ["gpuIndex", "gpuName", ...METRIC_KEYS] as const) {
      Object.assign(reading, {
        [key]: key === "gpuName" ? `renamed ${reading.gpuName}` : key === "gpuIndex" ? reading.gpuIndex + 1 : null,
      });
      expect(sampleRecordsJson([reading]).toString(), key).toBe(JSON.stringify([sampleRecord(reading)]));
    }
  });

  it("keep no more bytes for reuse than their budget, however many records were written", () => {
    const reading = (timestamp: number): SampleSource =>
      Object.freeze({
        gpuIndex: 0,
        gpuUuid: "GPU-1",
        gpuName: "NVIDIA H200",
        timestamp,
        ...(Object.fromEntries(METRIC_KEYS.map((key, i) => [key, i + 0.5])) as Record<(typeof METRIC_KEYS)[number], number>),
      });
    // About 1.5 KB each: twice the budget's worth, in answers of 1000.
    const answers = Math.ceil((2 * RECORD_JSON_BYTES_KEPT) / 1_000 / 1_000);
    for (let a = 0; a < answers; a++) {
      sampleRecordsJson(Array.from({ length: 1000 }, (_, i) => reading(1_780_000_000_000 + (a * 1000 + i) * 1000)));
      expect(recordJsonCacheBytes()).toBeLessThanOrEqual(RECORD_JSON_BYTES_KEPT);
    }
    expect(recordJsonCacheBytes()).toBeGreaterThan(RECORD_JSON_BYTES_KEPT * 0.9);
  });

  it("write every timestamp as Date.toISOString does, readings of one minute in a row included", () => {
    fc.assert(
      fc.property(timestamp, (ms) => {
        expect(isoText(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
    const start = Date.UTC(2026, 10, 26, 6, 36, 0, 0);
    for (let ms = start - 2000; ms < start + 62_000; ms += 997) expect(isoText(ms)).toBe(new Date(ms).toISOString());
  });
});

describe("sample records written straight to CSV", () => {
  it("are the line that quoting each field of the same record gives", () => {
    const reference = (s: SampleSource) => {
      const record = sampleRecord(s);
      const cells = CSV_COLUMNS.map((column) =>
        csvCell(column === "clock_event_reason_words" ? record.clock_event_reason_words.join("; ") : record[column]),
      );
      return `${cells.join(",")}\r\n`;
    };
    fc.assert(
      fc.property(sample, (s) => {
        expect(sampleCsvLine(s)).toBe(reference(s));
      }),
      { numRuns: 1000 },
    );
    const named: SampleSource = { ...fc.sample(sample, 1)[0], gpuName: 'H200, "SXM"', clockEventReasons: 0x44 };
    expect(sampleCsvLine(named)).toContain(',"H200, ""SXM""",');
    expect(sampleCsvLine(named)).toMatch(/,SW power cap; HW thermal\r\n$/);
  });
});
