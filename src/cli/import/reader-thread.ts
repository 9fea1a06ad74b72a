import { parentPort, workerData } from "node:worker_threads";
import { CommandFailure } from "../command";
import { TickPacker } from "./packed-ticks";
import { RecordingReader, type UnreadableLine } from "./recording-reader";
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

const unreadable: UnreadableLine[] = [];
const reader = new RecordingReader(file, (line) => unreadable.push(line));
const packer = new TickPacker();
try {
  for await (const ticks of reader.tickBatches()) {
    const packed = packer.pack(ticks, unreadable.splice(0), reader.bytesRead);
    send({ kind: "ticks", packed }, [
      packed.rows.buffer as ArrayBuffer,
      packed.tickRows.buffer as ArrayBuffer,
      packed.tickTimes.buffer as ArrayBuffer,
    ]);
    if (++ahead >= MAX_PACKS_AHEAD) await new Promise<void>((wake) => (resume = wake));
  }
  send({ kind: "end", unreadable, bytesRead: reader.bytesRead });
} catch (error) {
  send({ kind: "error", message: error instanceof Error ? error.message : String(error), commandFailure: error instanceof CommandFailure });
}
port.close();
