import { parentPort, workerData } from "node:worker_threads";
import { CommandFailure } from "../command";
import { PackingReader } from "./packed-ticks";
import { MAX_PACKS_AHEAD, type FromReaderThread, type ReaderThreadInput } from "./reader-thread-messages";

/**
 * The reader thread of `nvidia-oc import` (bundled as dist/import-reader.mjs):
 * reads and parses the log while the import's thread writes what it read
 * before, a few pieces ahead at most, so memory stays flat.
 */

const port = parentPort;
if (port === null) throw new Error("import-reader runs as a worker thread");
const { file } = workerData as ReaderThreadInput;
const send = (message: FromReaderThread, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

let ahead = 0;
let resume: (() => void) | null = null;
port.on("message", () => {
  ahead--;
  resume?.();
  resume = null;
});

const reader = new PackingReader(file);
try {
  for await (const packed of reader.packedTicks()) {
    send({ kind: "ticks", packed }, [
      packed.rows.buffer as ArrayBuffer,
      packed.tickRows.buffer as ArrayBuffer,
      packed.tickTimes.buffer as ArrayBuffer,
    ]);
    if (++ahead >= MAX_PACKS_AHEAD) await new Promise<void>((wake) => (resume = wake));
  }
  send({ kind: "end", unreadable: reader.takeUnreadable(), bytesRead: reader.bytesRead });
} catch (error) {
  send({ kind: "error", message: error instanceof Error ? error.message : String(error), commandFailure: error instanceof CommandFailure });
}
port.close();
