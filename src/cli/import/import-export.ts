import { storableSample } from "../../server/sources/storable-readings";
import type { GpuInfo } from "../../telemetry/types";
import { CsvExportReader, JsonExportReader, type ExportFileReader } from "./export-file-reader";
import { infoOfExported, sampleOfRecord } from "./exported-record";
import { emptyImportResult, sinkCounts, UnreadableList, type ImportOptions, type ImportResult } from "./import-result";
import { sinkOfImport, valueRejections } from "./sample-sink";

/**
 * Loads one of the recorder's own exports (CSV or JSON) through the store's
 * write path: each sample keeps its GPU's UUID and its time to the
 * millisecond, so an export imported into an empty database exports again as
 * the same file, and into the database it came from adds nothing.
 */
export async function importExport(options: ImportOptions & { format: "csv" | "json" }): Promise<ImportResult> {
  const result = emptyImportResult("as exported");
  const unreadable = new UnreadableList(result);
  const reader: ExportFileReader = options.format === "csv" ? new CsvExportReader(options.file) : new JsonExportReader(options.file);
  const infos = new Map<string, GpuInfo>();
  const sink = sinkOfImport(options, infos, () => reader.bytesRead, true);
  const rejected = valueRejections();

  for await (const batch of reader.batches()) {
    for (const line of batch.unreadable) unreadable.note(line);
    for (const { line, record } of batch.records) {
      const read = sampleOfRecord(record);
      if ("error" in read) {
        unreadable.note({ line, error: read.error });
        continue;
      }
      if (!infos.has(read.sample.uuid)) infos.set(read.sample.uuid, infoOfExported(read.sample, read.name));
      const sample = storableSample(read.sample, rejected.note);
      if (sample === null) {
        unreadable.note({ line, error: `its time (${read.sample.timestamp}) cannot be stored` });
        continue;
      }
      sink.add(sample);
    }
    if (await sink.flushWhenFull()) {
      result.stopped = true;
      break;
    }
  }
  await sink.flush();
  result.bytesRead = reader.bytesRead;
  result.gpus = [...infos.values()].sort((a, b) => a.index - b.index);
  result.rejectedValues = rejected.list();
  return { ...result, ...sinkCounts(sink) };
}
