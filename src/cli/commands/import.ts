import fs from "node:fs";
import { acquireInstanceLock, InstanceLockedError, type InstanceLock } from "../../server/storage/instance-lock";
import { TelemetryStore } from "../../server/storage/telemetry-store";
import { CommandFailure, defineCommand, UsageError } from "../command";
import { formatCount, formatTime } from "../format";
import { importRecording, type ImportResult } from "../import/import-recording";
import { checkedHeader, readHeader } from "../import/recording-reader";
import { ProgressLine } from "../progress";
import { describeHolder, readLockHolder } from "../server-lock";
import { configFromFlags, settingOptions } from "../settings-flags";
import { DAY_MS } from "../../telemetry/durations";

export const importCommand = defineCommand({
  name: "import",
  summary: "load an nvidia-smi CSV log into the database's history",
  synopsis: "<file> [--db-path FILE] [--ending-now] [--interval-ms MS]",
  description: `
Loads a CSV written by nvidia-smi --query-gpu=<fields> --format=csv[,nounits]
[-lms N] (the replay format: a header line, then one line per GPU per tick) into
the database, through the same write path the server records with. Each sample
keeps the time on its line (the host's local time, as nvidia-smi prints it);
a file without a timestamp column gets ticks --interval-ms apart ending now.

The server must not be running on the same database (two writers must not share
the file): stop it, import, start it again. Progress goes to stderr.`,
  positionals: [{ name: "<file>", help: "the nvidia-smi CSV log" }],
  options: {
    ...settingOptions(["NVOC_DB_PATH"]),
    "interval-ms": {
      type: "string",
      value: "MS",
      help: "NVOC_INTERVAL_MS: spacing of the ticks of a file without a timestamp column (default 1000)",
    },
    "ending-now": { type: "boolean", help: "shift the times so the newest sample is now, keeping their spacing" },
  },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError("<file>: missing: name the CSV file to import");
    if (positionals.length > 1) throw new UsageError(`${positionals[1]}: unexpected argument (import takes one file)`);
    const file = positionals[0];
    const config = configFromFlags(values, ["NVOC_DB_PATH", "NVOC_INTERVAL_MS", "NVOC_RETENTION_DAYS"]);
    const size = fileSize(file);
    // Before the database is touched: a file that is not a log leaves nothing behind.
    checkedHeader(file, await readHeader(file));

    const lock = lockDatabase(config.dbPath);
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
    let result: ImportResult;
    try {
      const now = Date.now();
      result = await importRecording({
        file,
        store,
        intervalMs: config.intervalMs,
        endingNow: values["ending-now"] ?? false,
        now,
        oldAfter: now - config.retentionMs,
        onProgress: (bytes, samples) => progress.update(bytes, samples),
        stopRequested: () => stopSignal !== null,
        readerThread: readerThreadScript(),
      });
      progress.finish(result.stopped ? result.bytesRead : size, result.samples);
      // Hands the server a database without a write-ahead log to replay.
      store.db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      store.close();
      lock.release();
    }

    process.stdout.write(describeImport(result, file, config.dbPath, config.retentionMs));
    if (result.stopped)
      throw new CommandFailure(`stopped by ${stopSignal ?? "a signal"}: the samples above were imported, the rest of ${file} was not`);
    if (result.samples === 0 && result.alreadyStored === 0) throw new CommandFailure(`${file} holds no readable samples`);
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

/** The database's lock, held while importing so no server starts writing meanwhile. */
function lockDatabase(dbPath: string): InstanceLock {
  try {
    return acquireInstanceLock(dbPath);
  } catch (error) {
    if (!(error instanceof InstanceLockedError))
      throw new CommandFailure(`cannot open the database ${dbPath}: ${error instanceof Error ? error.message : String(error)}`);
    const holder = readLockHolder(dbPath);
    throw new CommandFailure(
      `a server is recording into ${dbPath}${holder ? ` (${describeHolder(holder)})` : ""}; ` +
        `two writers must not share the file: stop it, import, then start it again`,
    );
  }
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
