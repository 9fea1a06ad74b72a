import { ByteBoundedLru } from "./byte-bounded-lru";
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
  private readonly entries: ByteBoundedLru<string, ChunkColumns>;

  constructor(maxBytes: number) {
    this.entries = new ByteBoundedLru(maxBytes);
  }

  /** Bytes of the columns kept now. */
  get bytes(): number {
    return this.entries.bytes;
  }

  /** The chunk's timestamps and the asked columns (catalogue indexes, ascending), decoded now unless kept. */
  decode(id: number, data: Uint8Array, columns: readonly number[]): ChunkColumns {
    const key = `${id}:${columns.join(",")}`;
    const kept = this.entries.get(key);
    if (kept) return kept;
    // decodeChunkColumns answers in shared scratch: copied, as it is kept past the next decode.
    const decoded = decodeChunkColumns(data, columns);
    const entry: ChunkColumns = {
      rowCount: decoded.rowCount,
      timestamps: Float64Array.from(decoded.timestamps),
      table: decoded.table.slice(0, decoded.rowCount * columns.length),
    };
    this.entries.set(key, entry, entry.timestamps.byteLength + entry.table.byteLength);
    return entry;
  }
}
