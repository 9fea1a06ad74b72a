import path from "node:path";
import { infoFromRow } from "../../server/sources/smi-rows";
import { storableSample } from "../../server/sources/storable-readings";
import type { GpuInfo } from "../../telemetry/types";
import { sinkOfImport, valueRejections } from "./sample-sink";
import { emptyImportResult, sinkCounts, UnreadableList, type ImportOptions, type ImportResult } from "./import-result";

export type { ImportOptions, ImportResult } from "./import-result";
import { hasTimestampColumn, readHeader, RecordingReader, type UnreadableLine } from "./recording-reader";
import { ThreadedRecordingReader } from "./threaded-reader";

/**
 * Loads an nvidia-smi CSV log into the store through its real write path (the
 * one the collector uses), so chunks, summaries and rollups come out as if the
 * samples had been recorded live.
 *
 * Times: each row's own `timestamp` (the host's local time, as nvidia-smi prints
 * it); with `endingNow`, shifted so the newest is now, keeping the spacing; in a
 * file without a timestamp column, ticks `intervalMs` apart ending now. No
 * sample is stored after `now`: a recording whose clock ran ahead of this one's
 * has those skipped and counted.
 */

export async function importRecording(options: ImportOptions): Promise<ImportResult> {
  const { file } = options;
  const now = options.now ?? Date.now();
  const stamp = await stamping(file, options, now);
  const result = emptyImportResult(stamp.timesFrom);
  const unreadableLines = new UnreadableList(result);
  const noteUnreadable = (line: UnreadableLine) => unreadableLines.note(line);
  const reader = readerOf(options, noteUnreadable);
  const infos = new Map<string, GpuInfo>();
  const sink = sinkOfImport(options, infos, () => reader.bytesRead, true);
  // A sample without a usable time is not stored at all: it is listed as an unreadable line instead.
  const rejected = valueRejections();
  const fallbackUuids = new Map<number, string>();
  const fallbackUuid = (index: number) =>
    fallbackUuids.get(index) ?? fallbackUuids.set(index, `import-${path.basename(file)}-gpu${index}`).get(index)!;

  let ordinal = 0;
  reading: for await (const row of reader.tickCursors()) {
    while (row.nextTick()) {
      while (row.nextLine()) {
        const timestamp = stamp.of(row.timestamp, row.recordedAt, ordinal);
        if (timestamp === null) {
          noteUnreadable({ line: row.line, error: "no timestamp on this line nor on its tick" });
          continue;
        }
        const index = row.index ?? 0;
        const uuid = row.uuid ?? fallbackUuid(index);
        let info = infos.get(uuid);
        if (!info) infos.set(uuid, (info = infoFromRow(row.toRow(), uuid, index)));
        const sample = storableSample(row.sampleFor(info, timestamp), rejected.note);
        if (sample === null) {
          noteUnreadable({ line: row.line, error: `its time (${timestamp}) cannot be stored` });
          continue;
        }
        sink.add(sample);
      }
      ordinal++;
      if (await sink.flushWhenFull()) {
        result.stopped = true;
        break reading;
      }
    }
  }
  await sink.flush();
  result.bytesRead = reader.bytesRead;
  result.gpus = [...infos.values()].sort((a, b) => a.index - b.index);
  result.rejectedValues = rejected.list();
  return { ...result, ...sinkCounts(sink) };
}

function readerOf({ file, readerThread }: ImportOptions, onUnreadable?: (line: UnreadableLine) => void) {
  return readerThread ? new ThreadedRecordingReader(file, readerThread, onUnreadable) : new RecordingReader(file, onUnreadable);
}

interface Stamping {
  timesFrom: ImportResult["timesFrom"];
  /** The time of a row: its own, else its tick's; null when it has none. */
  of(rowTime: number | null, tickTime: number | null, ordinal: number): number | null;
}

/** Decides where times come from; files whose times are to end now are read once ahead for their end. */
async function stamping(file: string, options: ImportOptions, now: number): Promise<Stamping> {
  if (!hasTimestampColumn(await readHeader(file))) {
    let ticks = 0;
    for await (const cursor of readerOf(options).tickCursors()) while (cursor.nextTick()) if (cursor.nextLine()) ticks++;
    return {
      timesFrom: `${options.intervalMs} ms apart, ending now (the file has no timestamp column)`,
      of: (_row, _tick, ordinal) => now - (ticks - 1 - ordinal) * options.intervalMs,
    };
  }
  if (!options.endingNow) return { timesFrom: "as recorded", of: (row, tickTime) => row ?? tickTime };
  let newest = -Infinity;
  for await (const cursor of readerOf(options).tickCursors())
    while (cursor.nextTick()) while (cursor.nextLine()) if (cursor.timestamp !== null) newest = Math.max(newest, cursor.timestamp);
  const shift = Number.isFinite(newest) ? now - newest : 0;
  return {
    timesFrom: "as recorded, shifted to end now",
    of: (row, tickTime) => {
      const recorded = row ?? tickTime;
      return recorded === null ? null : recorded + shift;
    },
  };
}
