import type { PackedTicks } from "./packed-ticks";
import type { UnreadableLine } from "./recording-reader";

/** What the import's thread and its reader thread (reader-thread.ts) say to each other. */

export interface ReaderThreadInput {
  file: string;
}

/**
 * Pieces the reader thread sends before it waits for the import to take one: about 3,300
 * lines each, so 32 hold more than the 50,000 samples of a transaction, and the reader can
 * read on all the while the store writes one (8 held half of one).
 */
export const MAX_PACKS_AHEAD = 32;

export type FromReaderThread =
  | { kind: "ticks"; packed: PackedTicks }
  | { kind: "end"; unreadable: UnreadableLine[]; bytesRead: number }
  | { kind: "error"; message: string; commandFailure: boolean };
