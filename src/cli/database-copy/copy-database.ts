import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { checkDatabaseFile, DatabaseFileError, snapshotDatabase, type DatabaseFileCheck } from "../../server/storage/database-file";
import { CommandFailure } from "../command";
import { ProgressLine } from "../progress";
import { formatBytes } from "../../telemetry/format-bytes";
import type { SnapshotThreadInput, SnapshotThreadOutput } from "./snapshot-thread-messages";

/** How often the copy's growth is looked at for the progress line. */
const POLL_MS = 100;

/** checkDatabaseFile, its refusal a CommandFailure. */
export function checkedDatabaseFile(file: string): DatabaseFileCheck {
  try {
    return checkDatabaseFile(file);
  } catch (error) {
    if (error instanceof DatabaseFileError) throw new CommandFailure(error.message);
    throw error;
  }
}

/**
 * Copies the database at `source` to the new file `target` (snapshotDatabase),
 * with progress on stderr: the copy's size against `liveBytes`, the live pages
 * of the source. Returns the copy's size. A failed copy leaves no file.
 */
export async function copyDatabase(source: string, target: string, liveBytes: number): Promise<number> {
  if (fs.existsSync(target)) throw new CommandFailure(`${target} exists already: name a new file (nothing is overwritten)`);
  const progress = new ProgressLine(liveBytes, formatBytes);
  const sizeOfCopy = () => {
    try {
      return fs.statSync(target).size;
    } catch {
      return 0;
    }
  };
  const ticker = setInterval(() => progress.update(sizeOfCopy(), sizeOfCopy()), POLL_MS);
  try {
    await snapshotOnThread(source, target);
  } catch (error) {
    fs.rmSync(target, { force: true });
    throw new CommandFailure(`cannot copy ${source} to ${target}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    clearInterval(ticker);
  }
  const bytes = sizeOfCopy();
  progress.finish(liveBytes, bytes);
  return bytes;
}

/** The snapshot thread's script, bundled next to the command's own (scripts/build-cli.mjs); none when run from the sources. */
function snapshotThreadScript(): URL | undefined {
  const script = new URL("./snapshot-thread.mjs", import.meta.url);
  return fs.existsSync(script) ? script : undefined;
}

async function snapshotOnThread(source: string, target: string) {
  const script = snapshotThreadScript();
  if (script === undefined) return snapshotDatabase(source, target);
  const worker = new Worker(script, { workerData: { source, target } satisfies SnapshotThreadInput });
  try {
    const answer = await new Promise<SnapshotThreadOutput>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
      worker.once("exit", (code) => reject(new Error(`the copying thread stopped (exit code ${code})`)));
    });
    if (!answer.ok) throw new Error(answer.message);
  } finally {
    await worker.terminate();
  }
}
