import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CSV_COLUMNS, sampleRecord, type SampleRecord } from "../../src/server/rest/records";
import { csvCell } from "../../src/server/rest/records-csv";
import { exportPieces, type ExportFormat } from "../../src/server/rest/sample-export";
import { newestRows, scanSamples } from "../../src/server/storage/telemetry-queries";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import type { GpuInfo, GpuSample } from "../../src/telemetry/types";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const START = 1_700_000_000_000;
// Small chunks: the window spans many sealed chunks, some kept decoded, and open rows.
const options = { chunkMaxRows: 7, slotMs: 600_000 };

/** The export's samples as text: the pieces joined, each copied and given back to be written into again. */
function exported(store: TelemetryStore, window: { from: number; to: number; gpuIds?: number[] }, format: ExportFormat, pieceBytes = 512) {
  const gpuIds = window.gpuIds ?? store.gpus().map((gpu) => gpu.id);
  const pieces = exportPieces(store, { gpuIds, from: window.from, to: window.to }, format, pieceBytes);
  const copies: Buffer[] = [];
  for (let piece = pieces.next(); !piece.done; piece = pieces.next(piece.value)) copies.push(Buffer.from(piece.value));
  return Buffer.concat(copies).toString();
}

/** What the records of the same samples say, oldest first, ties by GPU index. */
function recordsOf(store: TelemetryStore, window: { from: number; to: number; gpuIds?: number[] }): SampleRecord[] {
  const gpuId = window.gpuIds?.length === 1 ? window.gpuIds[0] : undefined;
  return [...scanSamples(store, { gpuId, from: window.from, to: window.to })].flat().map(sampleRecord);
}

/** The CSV columns of the records, quoted; the reason words joined by "; ". */
function csvOf(records: SampleRecord[]): string {
  const cell = (record: SampleRecord, column: (typeof CSV_COLUMNS)[number]) =>
    csvCell(column === "clock_event_reason_words" ? record.clock_event_reason_words.join("; ") : record[column]);
  return records.map((record) => `${CSV_COLUMNS.map((column) => cell(record, column)).join(",")}\r\n`).join("");
}

function jsonOf(records: SampleRecord[]): string {
  return records.map((record, i) => `${i === 0 ? "\n" : ",\n"}${JSON.stringify(record)}`).join("");
}

describe("the export's samples", () => {
  it("are byte for byte the CSV and JSON of the records, across sealed, kept and open blocks", () => {
    const { store } = TelemetryStore.open(path.join(dir, "simulated.db"), options);
    const { infos, samples } = simulatedSamples({ gpus: 3, count: 100, start: START });
    // A name that needs quoting in both formats.
    const named = infos.map((info, i) => (i === 1 ? { ...info, name: 'NVIDIA "H200", SXM' } : info));
    store.writeSamples(samples, infoLookup(named));
    // The newest chunks read newest first are kept decoded: the export reads those rows instead of blobs.
    newestRows(store, { from: 0, to: Number.MAX_SAFE_INTEGER }, 40);

    for (const window of [
      { from: 0, to: Number.MAX_SAFE_INTEGER },
      // Cut inside chunks at both ends.
      { from: START + 12_000, to: START + 83_000 },
      { from: START + 12_000, to: START + 83_000, gpuIds: [store.gpus()[1].id] },
    ]) {
      const records = recordsOf(store, window);
      expect(records.length).toBeGreaterThan(0);
      const csv = exported(store, window, "csv");
      expect(csv).toBe(csvOf(records));
      const json = exported(store, window, "json");
      expect(json).toBe(jsonOf(records));
      expect(JSON.parse(`[${json}\n]`)).toEqual(records);
    }
    expect(exported(store, { from: START + 500_000, to: START + 600_000 }, "csv")).toBe("");
    store.close();
  });

  it("write every stored value as the records do: decimals, negatives, missing values, large and zero", () => {
    const info: GpuInfo = { ...simulatedSamples({ gpus: 1, count: 1, start: START }).infos[0], name: "plain" };
    const scaledPower = fc.oneof(fc.integer({ min: 0, max: 99_999_999 }), fc.constantFrom(0, 1, 5, 10, 50, 99, 100, 101, 1010, 123_450));
    const reading = fc.record({
      temperatureC: fc.option(fc.integer({ min: -273, max: 10_000_000 }), { nil: null }),
      powerDrawW: fc.option(scaledPower, { nil: null }),
      powerLimitW: fc.option(scaledPower, { nil: null }),
      memoryUsedMib: fc.option(fc.oneof(fc.nat(), fc.constantFrom(0, 2 ** 40, 999_999_999_999_999)), { nil: null }),
      clockEventReasons: fc.option(fc.constantFrom(0, 1, 4, 0x20, 0x44, 0x1000), { nil: null }),
    });
    const readings = fc.sample(reading, { numRuns: 300, seed: 15 });
    const { store } = TelemetryStore.open(path.join(dir, "values.db"), options);
    const base = simulatedSamples({ gpus: 1, count: 1, start: START }).samples[0];
    const samples: GpuSample[] = readings.map((r, i) => ({
      ...base,
      timestamp: START + i * 1000 + (i % 3),
      temperatureC: r.temperatureC,
      powerDrawW: r.powerDrawW === null ? null : r.powerDrawW / 100,
      powerLimitW: r.powerLimitW === null ? null : r.powerLimitW / 100,
      memoryUsedMib: r.memoryUsedMib,
      clockEventReasons: r.clockEventReasons,
    }));
    expect(store.writeSamples(samples, infoLookup([info]))).toBe(samples.length);
    const window = { from: 0, to: Number.MAX_SAFE_INTEGER };
    const records = recordsOf(store, window);
    expect(records).toHaveLength(samples.length);
    expect(records.some((record) => record.power_draw === null)).toBe(true);
    expect(exported(store, window, "csv", 1)).toBe(csvOf(records));
    expect(exported(store, window, "json", 100_000)).toBe(jsonOf(records));
    store.close();
  });

  it("let writes in while paused between pieces, and hold the data as of their start", () => {
    const { store } = TelemetryStore.open(path.join(dir, "paused.db"), options);
    const first = simulatedSamples({ gpus: 2, count: 200, start: START });
    store.writeSamples(first.samples, infoLookup(first.infos));
    const window = { from: 0, to: Number.MAX_SAFE_INTEGER };
    const before = csvOf(recordsOf(store, window));

    const pieces = exportPieces(store, { ...window, gpuIds: store.gpus().map((gpu) => gpu.id) }, "csv", 1024);
    const seen: Buffer[] = [Buffer.from(pieces.next().value as Buffer)];
    // A paused export must not hold the connection: the collector's next flush goes through.
    const more = simulatedSamples({ gpus: 2, count: 50, start: START + 200_000 });
    expect(store.writeSamples(more.samples, infoLookup(more.infos))).toBe(100);
    for (let piece = pieces.next(); !piece.done; piece = pieces.next()) seen.push(piece.value);

    expect(Buffer.concat(seen).toString()).toBe(before);
    expect(recordsOf(store, window)).toHaveLength(500);
    store.close();
  });

  it("come in pieces of about the size asked for, and stop reading when the caller stops", () => {
    const { store } = TelemetryStore.open(path.join(dir, "pieces.db"), options);
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 200, start: START });
    store.writeSamples(samples, infoLookup(infos));
    const gpuIds = store.gpus().map((gpu) => gpu.id);
    const window = { gpuIds, from: 0, to: Number.MAX_SAFE_INTEGER };
    const pieces = [...exportPieces(store, window, "csv", 4096)];
    expect(pieces.length).toBeGreaterThan(10);
    // Each piece ends after the row that took it past the size, the last one with what is left.
    for (const piece of pieces.slice(0, -1)) expect(piece.length).toBeGreaterThanOrEqual(4096);
    for (const piece of pieces) expect(piece.length).toBeLessThan(4096 + 1024);
    for (const piece of pieces) expect(piece.toString().endsWith("\r\n")).toBe(true);

    const partial = exportPieces(store, window, "json", 4096);
    partial.next();
    partial.return(0);
    // The reads are closed: the store takes writes and closes cleanly.
    const more = simulatedSamples({ gpus: 2, count: 10, start: START + 200_000 });
    expect(store.writeSamples(more.samples, infoLookup(more.infos))).toBe(20);
    store.close();
  });
});
