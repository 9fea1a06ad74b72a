import { decodeChunkColumns } from "./chunk-codec";

/** A chunk's timestamps and some of its metric columns, as decodeChunkColumns gives them, owned by whoever decoded them. */
export interface ChunkColumns {
  rowCount: number;
  timestamps: Float64Array;
  /** The k-th asked column at k * rowCount, scaled integers as stored, NaN for null. */
  table: Float64Array;
}

/**
 * Sealed chunks' columns as charts ask for them (timestamps and a few metrics), decoded once
 * while they stay among the most recently read. A History view of hours decodes dozens of
 * chunks for every refresh of the same range; range decoding costs several times what reading
 * the decoded numbers back does. Chunks never change and their ids are never reused. Bounded
 * in bytes, least recently read first out.
 */
export class DecodedColumns {
  /** Map order is the recency order: the least recently read come first. */
  private readonly entries = new Map<string, ChunkColumns>();
  private keptBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes of the columns kept now. */
  get bytes(): number {
    return this.keptBytes;
  }

  /** The chunk's timestamps and the asked columns (catalogue indexes, ascending), decoded now unless kept. */
  decode(id: number, data: Uint8Array, columns: readonly number[]): ChunkColumns {
    const key = `${id}:${columns.join(",")}`;
    const kept = this.entries.get(key);
    if (kept) {
      this.entries.delete(key);
      this.entries.set(key, kept);
      return kept;
    }
    // decodeChunkColumns answers in shared scratch: copied, as it is kept past the next decode.
    const decoded = decodeChunkColumns(data, columns);
    const entry: ChunkColumns = {
      rowCount: decoded.rowCount,
      timestamps: Float64Array.from(decoded.timestamps),
      table: decoded.table.slice(0, decoded.rowCount * columns.length),
    };
    const bytes = entry.timestamps.byteLength + entry.table.byteLength;
    if (bytes > this.maxBytes) return entry;
    this.entries.set(key, entry);
    this.keptBytes += bytes;
    for (const [oldKey, old] of this.entries) {
      if (this.keptBytes <= this.maxBytes) break;
      this.entries.delete(oldKey);
      this.keptBytes -= old.timestamps.byteLength + old.table.byteLength;
    }
    return entry;
  }
}
