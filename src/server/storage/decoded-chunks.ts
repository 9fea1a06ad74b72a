import { decodeChunk, type ChunkRow } from "./chunk-codec";

/**
 * Sealed chunks' rows, decoded once while they stay among the most recently
 * read: chunks never change and their ids are never reused, and dashboards ask
 * for the same newest window every few seconds. Bounded by rows, not chunks, as
 * chunks cut short by restarts or gaps hold only a few. Callers must not modify the rows.
 */
export class DecodedChunks {
  /** Map order is the recency order: the least recently read come first. */
  private readonly chunks = new Map<number, readonly ChunkRow[]>();
  private rows = 0;

  constructor(private readonly maxRows: number) {}

  /** A chunk's rows, decoded now unless they are kept. */
  decode(chunk: { id: number; data: Uint8Array }): readonly ChunkRow[] {
    const cached = this.kept(chunk.id);
    if (cached) return cached;
    const rows = decodeChunk(chunk.data);
    this.chunks.set(chunk.id, rows);
    this.rows += rows.length;
    // The least recently read go first; the one just decoded always stays.
    for (const [id, old] of this.chunks) {
      if (this.rows <= this.maxRows || id === chunk.id) break;
      this.chunks.delete(id);
      this.rows -= old.length;
    }
    return rows;
  }

  /** A chunk's decoded rows if they are kept, marked as just read. */
  kept(id: number): readonly ChunkRow[] | undefined {
    const rows = this.chunks.get(id);
    if (rows) {
      this.chunks.delete(id);
      this.chunks.set(id, rows);
    }
    return rows;
  }
}
