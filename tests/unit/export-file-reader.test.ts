import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CsvExportReader, JsonExportReader, type ExportFileReader } from "../../src/cli/import/export-file-reader";
import { csvCells, sampleOfRecord } from "../../src/cli/import/exported-record";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();

async function readAll(reader: ExportFileReader) {
  const records: unknown[] = [];
  const unreadable: Array<{ line: number; error: string }> = [];
  for await (const batch of reader.batches()) {
    records.push(...batch.records.map((r) => r.record));
    unreadable.push(...batch.unreadable);
  }
  return { records, unreadable };
}

const record = (name: string, temperature: number | null) => ({
  gpu_index: 0,
  gpu_uuid: "GPU-1",
  gpu_name: name,
  timestamp: "2026-12-02T21:05:00.123Z",
  temperature,
  clock_event_reasons_decoded: { idle: true },
});

describe("reading the export's files", () => {
  it("JSON: records however the array is laid out, braces and quotes inside strings included", async () => {
    const records = [record('a {tricky} "name" \\ }', 41), record("plain", null)];
    const file = path.join(dir, "pretty.json");
    fs.writeFileSync(file, `\uFEFF${JSON.stringify(records, null, 2)}\n`);
    expect((await readAll(new JsonExportReader(file))).records).toEqual(records);
    const oneLine = path.join(dir, "one-line.json");
    fs.writeFileSync(oneLine, JSON.stringify(records));
    expect((await readAll(new JsonExportReader(oneLine))).records).toEqual(records);
  });

  it("JSON: a record cut short or broken is named by its line; the others are read", async () => {
    const file = path.join(dir, "broken.json");
    fs.writeFileSync(
      file,
      `[\n${JSON.stringify(record("ok", 40))},\n{"gpu_index": 0, oops},\n${JSON.stringify(record("ok", 42)).slice(0, 30)}`,
    );
    const { records, unreadable } = await readAll(new JsonExportReader(file));
    expect(records).toEqual([record("ok", 40)]);
    expect(unreadable.map((u) => u.line)).toEqual([3, 4]);
    expect(unreadable[1].error).toBe("the file ends inside this record");
  });

  it("CSV: quoted cells with commas and doubled quotes; an unclosed quote is refused", () => {
    expect(csvCells('0,GPU-1,"Lab ""A"", rack 2",,41')).toEqual(["0", "GPU-1", 'Lab "A", rack 2', "", "41"]);
    expect(csvCells('0,"open')).toBeNull();
    expect(csvCells("a,b,")).toEqual(["a", "b", ""]);
  });

  it("CSV: empty cells are N/A, and a cell that is not a number is named", async () => {
    const file = path.join(dir, "export.csv");
    fs.writeFileSync(
      file,
      "gpu_index,gpu_uuid,gpu_name,timestamp,temperature,power_draw\r\n0,GPU-1,H200,2026-12-02T21:05:00.123Z,,81.25\r\n0,GPU-1,H200,2026-12-02T21:05:01.123Z,hot,1\r\n",
    );
    const { records } = await readAll(new CsvExportReader(file));
    const [first, second] = records.map(sampleOfRecord);
    expect(first).toMatchObject({
      sample: { temperatureC: null, powerDrawW: 81.25, timestamp: Date.UTC(2026, 11, 2, 21, 5, 0, 123) },
      name: "H200",
    });
    expect(second).toEqual({ error: "temperature: must be a number or empty" });
    // A file cut down to the columns that name a sample still reads; the GPU is named by its index.
    expect(sampleOfRecord({ gpu_index: 3, gpu_uuid: "GPU-3", timestamp: "2026-12-02T21:05:00Z" })).toMatchObject({
      sample: { index: 3, uuid: "GPU-3", temperatureC: null },
      name: "GPU 3",
    });
  });
});
