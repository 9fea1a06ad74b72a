import { Worker } from "node:worker_threads";
import { SmiLineParser } from "../../server/sources/smi-line-parser";
import { CommandFailure } from "../command";
import { PackedTickCursor } from "./packed-ticks";
import { checkedHeader, readHeader, type TickCursor, type UnreadableLine } from "./recording-reader";
import type { FromReaderThread, ReaderThreadInput } from "./reader-thread-messages";

/**
 * RecordingReader's ticks, read and parsed on a thread of their own
 * (reader-thread.ts at `thread`), so that reading the log and writing the
 * store share the machine's cores instead of taking turns on one.
 */
export class ThreadedRecordingReader {
  /** Bytes taken from the file so far, for progress. */
  bytesRead = 0;

  constructor(
    readonly file: string,
    private readonly thread: URL,
    private readonly onUnreadable: (line: UnreadableLine) => void = () => undefined,
  ) {}

  /** The ticks of the file a piece at a time, through one cursor: each read to its end before the next is asked for. */
  async *tickCursors(): AsyncGenerator<TickCursor> {
    const cursor = new PackedTickCursor(new SmiLineParser(checkedHeader(this.file, await readHeader(this.file))));
    const worker = new Worker(this.thread, { workerData: { file: this.file } satisfies ReaderThreadInput });
    const inbox: FromReaderThread[] = [];
    let arrived: (() => void) | null = null;
    const receive = (message: FromReaderThread) => {
      inbox.push(message);
      arrived?.();
      arrived = null;
    };
    worker.on("message", receive);
    worker.on("error", (error) => receive({ kind: "error", message: error.message, commandFailure: false }));
    // It ends with 0 only after its last word, which may come in after this; otherwise it died.
    worker.on("exit", (code) => {
      if (code !== 0) receive({ kind: "error", message: `the reader thread stopped (exit code ${code})`, commandFailure: false });
    });
    try {
      for (;;) {
        while (inbox.length === 0) await new Promise<void>((wake) => (arrived = wake));
        const message = inbox.shift()!;
        if (message.kind === "error") {
          throw new CommandFailure(message.commandFailure ? message.message : `cannot read ${this.file}: ${message.message}`);
        }
        const unreadable = message.kind === "end" ? message.unreadable : message.packed.unreadable;
        for (const line of unreadable) this.onUnreadable(line);
        if (message.kind === "end") {
          this.bytesRead = message.bytesRead;
          return;
        }
        this.bytesRead = message.packed.bytesRead;
        worker.postMessage("taken");
        yield cursor.over(message.packed);
      }
    } finally {
      await worker.terminate();
    }
  }
}
