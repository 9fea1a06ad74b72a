import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { infoFromRow } from "../../server/sources/smi-rows";
import { RejectedValues, type RejectedValueCount } from "../../server/collector/rejected-values";
import { storableSample, type RejectedField } from "../../server/sources/storable-readings";
import type { GpuInfo, GpuSample } from "../../telemetry/types";
import type { TelemetryStore } from "../../server/storage/telemetry-store";
import { HeldSamples } from "./held-samples";
import { hasTimestampColumn, readHeader, RecordingReader, type RecordedTick, type UnreadableLine } from "./recording-reader";
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

export interface ImportOptions {
  file: string;
  store: TelemetryStore;
  intervalMs: number;
  endingNow: boolean;
  now?: number;
  /** Samples older than this are counted (they would be pruned by the retention). */
  oldAfter?: number;
  onProgress?: (bytesRead: number, samples: number) => void;
  /** Checked between batches: true stops the import after what is written so far. */
  stopRequested?: () => boolean;
  /** The reader thread's script (dist/import-reader.mjs): the file is then read and parsed on a thread of its own. */
  readerThread?: URL;
}

export interface ImportResult {
  samples: number;
  gpus: GpuInfo[];
  first: number | null;
  last: number | null;
  /** Where the times came from, in words: "as recorded", "as recorded, shifted to end now", "1000 ms apart, ending now". */
  timesFrom: string;
  /** The first few unreadable lines (those nearest the top of the file, in order), and how many there were in all. */
  unreadable: UnreadableLine[];
  unreadableCount: number;
  olderThanRetention: number;
  /** Samples skipped because their time is after now (the recording's clock ran ahead). */
  inTheFuture: number;
  /** Samples skipped because the database already holds that GPU at that time (a file imported again). */
  alreadyStored: number;
  /** Values storage cannot hold exactly (1e20, negative, not finite), stored as missing: per GPU and field, with the latest. */
  rejectedValues: RejectedValueCount[];
  stopped: boolean;
  /** How far into the file the import got. */
  bytesRead: number;
}

/**
 * Samples per transaction: the store seals each GPU's full chunks at once, and
 * writes the rest as single rows to seal them at the next write, so a few
 * thousand rows per GPU keep that rest small. Still a fraction of a second of
 * work, so progress shows and a stop is heard promptly.
 */
const BATCH_SAMPLES = 50_000;
const UNREADABLE_KEPT = 5;

export async function importRecording(options: ImportOptions): Promise<ImportResult> {
  const { file, store } = options;
  const now = options.now ?? Date.now();
  const result: ImportResult = {
    samples: 0,
    gpus: [],
    first: null,
    last: null,
    timesFrom: "as recorded",
    unreadable: [],
    unreadableCount: 0,
    olderThanRetention: 0,
    inTheFuture: 0,
    alreadyStored: 0,
    rejectedValues: [],
    stopped: false,
    bytesRead: 0,
  };
  const stamp = await stamping(file, options, now);
  result.timesFrom = stamp.timesFrom;

  // Lines are found unreadable while parsing and while stamping, pieces apart: kept by their place in the file.
  const noteUnreadable = (line: UnreadableLine) => {
    result.unreadableCount++;
    const { unreadable } = result;
    if (unreadable.length === UNREADABLE_KEPT && line.line > unreadable[UNREADABLE_KEPT - 1].line) return;
    unreadable.splice(unreadable.findLastIndex((kept) => kept.line < line.line) + 1, 0, line);
    unreadable.length = Math.min(unreadable.length, UNREADABLE_KEPT);
  };
  const reader = readerOf(options, noteUnreadable);
  const infos = new Map<string, GpuInfo>();
  const held = new HeldSamples(store);
  const rejected = new RejectedValues(null);
  // A sample without a usable time is not stored at all: it is listed as an unreadable line instead.
  const noteRejected = (sample: GpuSample, field: RejectedField, value: unknown) => {
    if (field !== "timestamp") rejected.note(sample, field, value);
  };
  const fallbackUuids = new Map<number, string>();
  const fallbackUuid = (index: number) =>
    fallbackUuids.get(index) ?? fallbackUuids.set(index, `import-${path.basename(file)}-gpu${index}`).get(index)!;
  let batch: GpuSample[] = [];
  const flush = async () => {
    const fresh = held.fresh(batch);
    result.alreadyStored += batch.length - fresh.length;
    store.writeSamples(fresh, (uuid) => infos.get(uuid));
    result.samples += fresh.length;
    batch = [];
    options.onProgress?.(reader.bytesRead, result.samples);
    // Lets a Ctrl-C be heard between transactions.
    await nextTurn();
  };

  let ordinal = 0;
  reading: for await (const ticks of reader.tickBatches()) {
    for (const tick of ticks) {
      for (const row of tick.rows) {
        const timestamp = stamp.of(row.timestamp, tick, ordinal);
        if (timestamp === null) {
          noteUnreadable({ line: row.line, error: "no timestamp on this line nor on its tick" });
          continue;
        }
        if (timestamp > now) {
          result.inTheFuture++;
          continue;
        }
        const index = row.index ?? 0;
        const uuid = row.uuid ?? fallbackUuid(index);
        let info = infos.get(uuid);
        if (!info) infos.set(uuid, (info = infoFromRow(row.toRow(), uuid, index)));
        const sample = storableSample(row.sampleFor(info, timestamp), noteRejected);
        if (sample === null) {
          noteUnreadable({ line: row.line, error: `its time (${timestamp}) cannot be stored` });
          continue;
        }
        batch.push(sample);
        if (result.first === null || timestamp < result.first) result.first = timestamp;
        if (result.last === null || timestamp > result.last) result.last = timestamp;
        if (options.oldAfter !== undefined && timestamp < options.oldAfter) result.olderThanRetention++;
      }
      ordinal++;
      if (batch.length >= BATCH_SAMPLES) {
        await flush();
        if (options.stopRequested?.()) {
          result.stopped = true;
          break reading;
        }
      }
    }
  }
  if (batch.length > 0) await flush();
  result.bytesRead = reader.bytesRead;
  result.gpus = [...infos.values()].sort((a, b) => a.index - b.index);
  result.rejectedValues = rejected.list();
  return result;
}

function readerOf({ file, readerThread }: ImportOptions, onUnreadable?: (line: UnreadableLine) => void) {
  return readerThread ? new ThreadedRecordingReader(file, readerThread, onUnreadable) : new RecordingReader(file, onUnreadable);
}

interface Stamping {
  timesFrom: ImportResult["timesFrom"];
  /** The time of a row: its own, else its tick's; null when it has none. */
  of(rowTime: number | null, tick: RecordedTick, ordinal: number): number | null;
}

/** Decides where times come from; files whose times are to end now are read once ahead for their end. */
async function stamping(file: string, options: ImportOptions, now: number): Promise<Stamping> {
  if (!hasTimestampColumn(await readHeader(file))) {
    let ticks = 0;
    for await (const batch of readerOf(options).tickBatches()) for (const tick of batch) if (tick.rows.length > 0) ticks++;
    return {
      timesFrom: `${options.intervalMs} ms apart, ending now (the file has no timestamp column)`,
      of: (_row, _tick, ordinal) => now - (ticks - 1 - ordinal) * options.intervalMs,
    };
  }
  if (!options.endingNow) return { timesFrom: "as recorded", of: (row, tick) => row ?? tick.recordedAt };
  let newest = -Infinity;
  for await (const batch of readerOf(options).tickBatches())
    for (const tick of batch) for (const row of tick.rows) if (row.timestamp !== null) newest = Math.max(newest, row.timestamp);
  const shift = Number.isFinite(newest) ? now - newest : 0;
  return {
    timesFrom: "as recorded, shifted to end now",
    of: (row, tick) => {
      const recorded = row ?? tick.recordedAt;
      return recorded === null ? null : recorded + shift;
    },
  };
}
