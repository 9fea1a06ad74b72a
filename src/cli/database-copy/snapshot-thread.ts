import { parentPort, workerData } from "node:worker_threads";
import { snapshotDatabase } from "../../server/storage/database-file";
import type { SnapshotThreadInput, SnapshotThreadOutput } from "./snapshot-thread-messages";

/**
 * The thread `nvidia-oc backup`, `restore` and `import <database>` copy a
 * database on (bundled as dist/snapshot-thread.mjs): VACUUM INTO holds the
 * thread that runs it until the copy is done, and the command's own thread
 * draws the progress meanwhile.
 */

const port = parentPort;
if (port === null) throw new Error("snapshot-thread runs as a worker thread");
const { source, target } = workerData as SnapshotThreadInput;
let answer: SnapshotThreadOutput;
try {
  snapshotDatabase(source, target);
  answer = { ok: true };
} catch (error) {
  answer = { ok: false, message: error instanceof Error ? error.message : String(error) };
}
port.postMessage(answer);
