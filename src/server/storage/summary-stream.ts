/**
 * Many stored summaries read as one value: SQLite concatenates the selected rows' summaries, each
 * after a header of its row's start, row count, id and byte length, and a reader walks them in
 * place. better-sqlite3 makes an array and a Buffer for every row it returns, about a microsecond
 * a row, as much as reading a one-period summary: a 90-day chart of eight GPUs reads 17,280 hourly
 * rollups, which come back as eight values instead.
 *
 * Header, 20 bytes, big-endian: the start (epoch ms) as a signed 64-bit integer, then the row
 * count, the id (0 where the table has none) and the summary's length in bytes, each unsigned
 * 32-bit. The summary's bytes follow as stored.
 */
export const SUMMARY_STREAM_HEADER_BYTES = 20;

/**
 * The SQL expression that aggregates the selected rows into a stream (a BLOB; NULL when no row
 * was selected). `||` and group_concat take a blob's bytes as they are (the database's text
 * encoding is UTF-8), and the cast hands the result back as a blob. The rows come in the order
 * SQLite reads them, as a plain SELECT of the same rows returns them.
 */
export function summaryStreamColumn(startColumn: string, idColumn: string): string {
  return `CAST(group_concat(unhex(printf('%016X%08X%08X%08X', ${startColumn}, rowCount, ${idColumn}, length(summary))) || summary, '') AS BLOB)`;
}

/**
 * Walks a stream: each `next()` that returns true leaves one summary's header fields here and its
 * bytes at [from, end) of `bytes`, for readPeriods (period-summaries.ts) to read in place.
 */
export class SummaryStreamReader {
  start = 0;
  rowCount = 0;
  id = 0;
  from = 0;
  end = 0;
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private position = 0;

  /** `stream` as the statement returned it: null when it selected no row. */
  constructor(stream: Uint8Array | null) {
    this.bytes = stream ?? new Uint8Array(0);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  next(): boolean {
    const at = this.position;
    if (at === this.bytes.length) return false;
    if (at + SUMMARY_STREAM_HEADER_BYTES > this.bytes.length) throw corrupt(at);
    const view = this.view;
    this.start = view.getInt32(at) * 2 ** 32 + view.getUint32(at + 4);
    this.rowCount = view.getUint32(at + 8);
    this.id = view.getUint32(at + 12);
    this.from = at + SUMMARY_STREAM_HEADER_BYTES;
    this.end = this.from + view.getUint32(at + 16);
    if (this.end > this.bytes.length) throw corrupt(at);
    this.position = this.end;
    return true;
  }

  /** The current summary as a view of its own, for readers that take a whole blob. */
  summary(): Uint8Array {
    return this.bytes.subarray(this.from, this.end);
  }
}

function corrupt(at: number): Error {
  return new Error(`corrupt summary stream: a header at byte ${at} runs past its end`);
}
