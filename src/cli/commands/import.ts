import fs from "node:fs";
import path from "node:path";
import { DEFAULT_WATER_MARKS } from "../../server/storage/retention";
import { formatBytes } from "../../telemetry/format-bytes";
import { TelemetryStore } from "../../server/storage/telemetry-store";
import { badFlag, CommandFailure, defineCommand, UsageError } from "../command";
import { formatCount, formatTime } from "../format";
import { importRecording } from "../import/import-recording";
import { importExport } from "../import/import-export";
import { importFileKind, type ImportFileKind } from "../import/file-kind";
import { mergeDatabase, type MergeResult } from "../import/merge-database";
import type { ImportOptions, ImportResult } from "../import/import-result";
import { checkedHeader, readHeader } from "../import/recording-reader";
import { ProgressLine } from "../progress";
import { lockForWriting } from "../server-lock";
import { configFromFlags, settingOptions } from "../settings-flags";
import { DAY_MS } from "../../telemetry/durations";

export const importCommand = defineCommand({
  name: "import",
  summary: "load an export, another database or an nvidia-smi log into the database's history",
  synopsis: "<file> [--db-path FILE] [--ending-now] [--interval-ms MS]",
  description: `
Loads history into the database, through the same write path the server records
with; what kind of file it is, is told from the file itself:

- an export of nvidia-oc (nvidia-oc export, CSV or JSON): every sample as
  exported, GPUs by their UUID, times to the millisecond;
- an nvidia-oc database (a backup, another recorder's database): merged into
  this one GPU by UUID, its samples and its event log; the file is not changed;
- a CSV written by nvidia-smi --query-gpu=<fields> --format=csv[,nounits]
  [-lms N] (a header line, then one line per GPU per tick): each sample keeps
  the time on its line (the host's local time, as nvidia-smi prints it); a file
  without a timestamp column gets ticks --interval-ms apart ending now.

Samples the database already holds (same GPU, same time) are skipped, so a file
imported twice adds nothing the second time. Retention and the size cap apply
to what is imported: the server's next prune deletes what they do not keep, and
the import says how much that is. The server must not be running on the same
database (two writers must not share the file): stop it, import, start it
again. Progress goes to stderr.`,
  positionals: [{ name: "<file>", help: "the export, database or nvidia-smi CSV log" }],
  options: {
    ...settingOptions(["NVOC_DB_PATH", "NVOC_RETENTION_DAYS", "NVOC_MAX_DB_MB"]),
    "interval-ms": {
      type: "string",
      value: "MS",
      help: "NVOC_INTERVAL_MS: spacing of the ticks of a file without a timestamp column (default 1000)",
    },
    "ending-now": { type: "boolean", help: "nvidia-smi logs: shift the times so the newest sample is now, keeping their spacing" },
  },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError("<file>: missing: name the file to import");
    if (positionals.length > 1) throw new UsageError(`${positionals[1]}: unexpected argument (import takes one file)`);
    const file = positionals[0];
    const config = configFromFlags(values, ["NVOC_DB_PATH", "NVOC_INTERVAL_MS", "NVOC_RETENTION_DAYS", "NVOC_MAX_DB_MB"]);
    const size = fileSize(file);
    // Before the database is touched: a file that cannot be read leaves nothing behind.
    const kind = importFileKind(file);
    if (kind === "smi-log") checkedHeader(file, await readHeader(file));
    else if (values["ending-now"])
      throw badFlag("--ending-now", "applies to nvidia-smi logs only: an export or a database keeps its times");
    if (kind === "database" && path.resolve(file) === path.resolve(config.dbPath)) {
      throw new CommandFailure(`${file} is the database being imported into: name another recorder's database or a backup`);
    }

    const lock = lockForWriting(config.dbPath, "import");
    let store: TelemetryStore;
    try {
      store = TelemetryStore.open(config.dbPath).store;
    } catch (error) {
      lock.release();
      throw new CommandFailure(`cannot open the database ${config.dbPath}: ${error instanceof Error ? error.message : String(error)}`);
    }

    let stopSignal: NodeJS.Signals | null = null;
    const stop = (signal: NodeJS.Signals) => (stopSignal = signal);
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    const progress = new ProgressLine(size, "samples");
    let result: ImportResult | MergeResult;
    let fileBytes: number;
    try {
      const now = Date.now();
      const options: ImportOptions = {
        file,
        store,
        intervalMs: config.intervalMs,
        endingNow: values["ending-now"] ?? false,
        now,
        oldAfter: now - config.retentionMs,
        onProgress: (bytes, samples) => progress.update(bytes, samples),
        stopRequested: () => stopSignal !== null,
        readerThread: readerThreadScript(),
      };
      result = await IMPORTERS[kind](options);
      progress.finish(result.stopped ? result.bytesRead : size, result.samples);
      // Hands the server a database without a write-ahead log to replay.
      store.db.pragma("wal_checkpoint(TRUNCATE)");
      fileBytes = store.fileBytes();
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      store.close();
      lock.release();
    }

    process.stdout.write(describeImport(result, file, config.dbPath, config.retentionMs));
    if ("tables" in result) process.stdout.write(describeMergedTables(result));
    process.stdout.write(describeSizeCap(fileBytes, config.maxDbBytes));
    if (result.stopped)
      throw new CommandFailure(`stopped by ${stopSignal ?? "a signal"}: the samples above were imported, the rest of ${file} was not`);
    if (result.samples === 0 && result.alreadyStored === 0 && !("tables" in result))
      throw new CommandFailure(`${file} holds no readable samples`);
  },
});

/** The reader thread's script, bundled next to the command's own (scripts/build-cli.mjs); none when run from the sources. */
function readerThreadScript(): URL | undefined {
  const script = new URL("./import-reader.mjs", import.meta.url);
  return fs.existsSync(script) ? script : undefined;
}

function fileSize(file: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw new CommandFailure(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  if (!stat.isFile()) throw new CommandFailure(`${file} is not a file`);
  return stat.size;
}

/** Each kind of file, read by its own importer into the same write path. */
const IMPORTERS: Record<ImportFileKind, (options: ImportOptions) => Promise<ImportResult | MergeResult>> = {
  "smi-log": importRecording,
  "export-csv": (options) => importExport({ ...options, format: "csv" }),
  "export-json": (options) => importExport({ ...options, format: "json" }),
  database: mergeDatabase,
};

function describeMergedTables(result: MergeResult): string {
  return result.tables
    .map(({ what, added, alreadyHeld, leftOut }) => {
      const skipped = [alreadyHeld > 0 ? `${formatCount(alreadyHeld)} already held` : null, leftOut].filter((part) => part !== null);
      return `  merged ${formatCount(added)} ${what}${skipped.length > 0 ? ` (skipped ${skipped.join("; ")})` : ""}\n`;
    })
    .join("");
}

/** What the size cap will do to the database as the import left it. */
function describeSizeCap(fileBytes: number, maxBytes: number): string {
  const trimAt = DEFAULT_WATER_MARKS.highWater * maxBytes;
  if (fileBytes <= trimAt) return "";
  return (
    `  the database is now ${formatBytes(fileBytes)}, over ${DEFAULT_WATER_MARKS.highWater * 100} % of its size cap (${formatBytes(maxBytes)}, NVOC_MAX_DB_MB): ` +
    `the server's next prune deletes the oldest samples until it is under ${DEFAULT_WATER_MARKS.lowWater * 100} %\n`
  );
}

function describeImport(result: ImportResult, file: string, dbPath: string, retentionMs: number): string {
  const gpus = result.gpus.map((g) => `${g.index}: ${g.name}`).join(", ");
  const count = result.gpus.length === 1 ? "1 GPU" : `${result.gpus.length} GPUs`;
  let out = `imported ${formatCount(result.samples)} samples of ${count}${gpus ? ` (${gpus})` : ""} from ${file} into ${dbPath}\n`;
  if (result.first !== null && result.last !== null)
    out += `  times ${result.timesFrom}: ${formatTime(result.first)} to ${formatTime(result.last)}\n`;
  if (result.unreadableCount > 0) {
    out += `  skipped ${formatCount(result.unreadableCount)} unreadable line${result.unreadableCount === 1 ? "" : "s"}:\n`;
    for (const { line, error } of result.unreadable) out += `    line ${line}: ${error}\n`;
    if (result.unreadableCount > result.unreadable.length) out += `    ...\n`;
  }
  for (const { gpuIndex, field, count, lastValue } of result.rejectedValues) {
    out += `  stored ${formatCount(count)} value${count === 1 ? "" : "s"} of GPU ${gpuIndex} ${field} as missing: the database cannot hold them exactly (last: ${lastValue})\n`;
  }
  if (result.alreadyStored > 0) {
    out += `  skipped ${formatCount(result.alreadyStored)} sample${result.alreadyStored === 1 ? "" : "s"} the database already held (same GPU, same time)\n`;
  }
  if (result.inTheFuture > 0) {
    out +=
      `  skipped ${formatCount(result.inTheFuture)} sample${result.inTheFuture === 1 ? "" : "s"} stamped after now (the recording's clock ran ahead of this one): ` +
      `--ending-now moves the recording to end now\n`;
  }
  if (result.olderThanRetention > 0) {
    out +=
      `  ${formatCount(result.olderThanRetention)} of them are older than the retention (${retentionMs / DAY_MS} days, NVOC_RETENTION_DAYS): ` +
      `the server deletes them at its next prune; --ending-now moves the recording to end now\n`;
  }
  return out;
}
