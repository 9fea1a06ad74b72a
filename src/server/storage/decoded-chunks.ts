import { decodeChunk, type ChunkRow } from "./chunk-codec";
import { METRIC_COLUMN_COUNT } from "./chunk-columns";
import { ByteBoundedLru } from "./byte-bounded-lru";

/**
 * What one decoded row costs on the V8 heap: an object of a timestamp and
 * every metric, each number boxed (8 bytes of field, 16 of boxed double), plus
 * the object's header and its slot in the chunk's array. Measured at 473 bytes
 * for 18 metrics on Node 20 (bench/MEMORY.md); this gives 488.
 */
export const DECODED_ROW_BYTES = 32 + 24 * (METRIC_COLUMN_COUNT + 1);

/**
 * Sealed chunks' rows, decoded once while they stay among the most recently
 * read: chunks never change and their ids are never reused, and dashboards ask
 * for the same newest window every few seconds. Bounded in bytes (estimated per
 * row, as chunks cut short by restarts or gaps hold only a few rows), least
 * recently read first out. Callers must not modify the rows.
 */
export class DecodedChunks {
  private readonly chunks: ByteBoundedLru<number, readonly ChunkRow[]>;

  constructor(maxBytes: number) {
    this.chunks = new ByteBoundedLru(maxBytes);
  }

  /** Estimated bytes of the rows kept now. */
  get bytes(): number {
    return this.chunks.bytes;
  }

  /**
   * A chunk's rows, decoded now unless they are kept. With `keep` false, rows
   * decoded now are not kept: a walk through many chunks that each are read
   * once (an export, a day of raw samples for a chart) would otherwise push out
   * the newest chunks that are read again and again, and hold megabytes of rows
   * that outlive the request only to be evicted by the next one.
   */
  decode(chunk: { id: number; data: Uint8Array }, keep = true): readonly ChunkRow[] {
    const cached = this.kept(chunk.id);
    if (cached) return cached;
    const rows = decodeChunk(chunk.data);
    if (keep) this.chunks.set(chunk.id, rows, rows.length * DECODED_ROW_BYTES);
    return rows;
  }

  /** A chunk's decoded rows if they are kept, marked as just read. */
  kept(id: number): readonly ChunkRow[] | undefined {
    return this.chunks.get(id);
  }
}
