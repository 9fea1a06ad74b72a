import type { RejectedValueCount } from "../../server/collector/rejected-values";
import type { TelemetryStore } from "../../server/storage/telemetry-store";
import type { GpuInfo } from "../../telemetry/types";
import type { UnreadableLine } from "./recording-reader";
import type { SampleSink } from "./sample-sink";

/** What an import is given and what it reports, whatever kind of file it reads. */

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

const UNREADABLE_KEPT = 5;

export function emptyImportResult(timesFrom: string): ImportResult {
  return {
    samples: 0,
    gpus: [],
    first: null,
    last: null,
    timesFrom,
    unreadable: [],
    unreadableCount: 0,
    olderThanRetention: 0,
    inTheFuture: 0,
    alreadyStored: 0,
    rejectedValues: [],
    stopped: false,
    bytesRead: 0,
  };
}

/**
 * The first few unreadable lines of a file, by their place in it (they may be
 * found out of order: while parsing and while stamping, pieces apart), and how many in all.
 */
export class UnreadableList {
  constructor(private readonly result: ImportResult) {}

  note(line: UnreadableLine) {
    this.result.unreadableCount++;
    const { unreadable } = this.result;
    if (unreadable.length === UNREADABLE_KEPT && line.line > unreadable[UNREADABLE_KEPT - 1].line) return;
    unreadable.splice(unreadable.findLastIndex((kept) => kept.line < line.line) + 1, 0, line);
    unreadable.length = Math.min(unreadable.length, UNREADABLE_KEPT);
  }
}

/** What the sink counted, as the result reports it. */
export function sinkCounts(sink: SampleSink) {
  const { samples, alreadyStored, inTheFuture, olderThanRetention, first, last } = sink;
  return { samples, alreadyStored, inTheFuture, olderThanRetention, first, last };
}
