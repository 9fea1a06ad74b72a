/**
 * Many stored summaries read as one row: SQLite concatenates the selected rows' summaries into one
 * blob, and lists their starts, row counts, ids and byte lengths as text, and a reader walks them
 * in place. better-sqlite3 makes an array and a Buffer for every row it returns, about a
 * microsecond a row, as much as reading a one-period summary: a 90-day chart of eight GPUs reads
 * 17,280 hourly rollups, which come back as eight rows instead. (A binary header per summary,
 * made with printf and unhex, cost SQLite more than the lists cost to write and parse.)
 */

/** The row summaryStreamColumns selects: null columns when it selected no summary. */
export type SummaryStreamRow = [
  starts: string | null,
  rowCounts: string | null,
  ids: string | null,
  lengths: string | null,
  bytes: Uint8Array | null,
];

/**
 * The SQL columns of a stream (select them with `raw()`): the starts, row counts and ids (none
 * where `idColumn` is null) as comma-separated integers, the summaries' lengths the same way, and
 * their bytes back to back. group_concat takes a blob's bytes as they are (the database's text
 * encoding is UTF-8), and the cast hands them back as a blob. Every aggregate sees the rows in the
 * same order, the order a plain SELECT of them returns.
 */
export function summaryStreamColumns(startColumn: string, idColumn: string | null): string {
  return [
    `group_concat(${startColumn})`,
    "group_concat(rowCount)",
    idColumn === null ? "NULL" : `group_concat(${idColumn})`,
    "group_concat(length(summary))",
    "CAST(group_concat(summary, '') AS BLOB)",
  ].join(", ");
}

/** One stored summary as a reader of a range meets it: its bytes are `bytes` from `from` to `end`. */
export interface StoredSummary {
  readonly start: number;
  readonly rowCount: number;
  readonly bytes: Uint8Array;
  readonly from: number;
  readonly end: number;
}

/**
 * Walks a stream: each `next()` that returns true moves to the next summary, its bytes at
 * [from, end) of `bytes`, for readPeriods (period-summaries.ts) to read in place. Its start, row
 * count and id (0 where the stream has none) are parsed from their lists the first time one is
 * asked for: a reader of version 2 and 3 summaries, which hold their periods' starts and row
 * counts themselves, need not (the starts are most of the lists' characters).
 */
export class SummaryStreamReader implements StoredSummary {
  from = 0;
  end = 0;
  readonly bytes: Uint8Array;
  private readonly lists: [starts: string | null, rowCounts: string | null, ids: string | null];
  private parsed: [starts: Float64Array, rowCounts: Float64Array, ids: Float64Array | null] | null = null;
  private readonly lengths: Float64Array;
  private index = -1;

  /** `row` as the statement returned it (undefined or null columns: no summary). */
  constructor(row: SummaryStreamRow | undefined) {
    const [starts, rowCounts, ids, lengths, bytes] = row ?? [null, null, null, null, null];
    this.bytes = bytes ?? new Uint8Array(0);
    this.lists = [starts, rowCounts, ids];
    this.lengths = integers(lengths, "lengths");
    let total = 0;
    for (let i = 0; i < this.lengths.length; i++) total += this.lengths[i];
    if (total !== this.bytes.length)
      throw corrupt(`its summaries' lengths add up to ${total} bytes, not the ${this.bytes.length} it holds`);
  }

  next(): boolean {
    if (this.index + 1 === this.lengths.length) return false;
    this.index++;
    this.from = this.end;
    this.end = this.from + this.lengths[this.index];
    return true;
  }

  get start(): number {
    return this.fields()[0][this.index];
  }

  get rowCount(): number {
    return this.fields()[1][this.index];
  }

  get id(): number {
    const ids = this.fields()[2];
    return ids === null ? 0 : ids[this.index];
  }

  private fields(): [Float64Array, Float64Array, Float64Array | null] {
    if (this.parsed !== null) return this.parsed;
    const [starts, rowCounts, ids] = this.lists;
    const parsed: [Float64Array, Float64Array, Float64Array | null] = [
      integers(starts, "starts"),
      integers(rowCounts, "row counts"),
      ids === null ? null : integers(ids, "ids"),
    ];
    const count = this.lengths.length;
    if (parsed[0].length !== count || parsed[1].length !== count || (parsed[2] !== null && parsed[2].length !== count))
      throw corrupt("its lists hold different numbers of summaries");
    return (this.parsed = parsed);
  }
}

const COMMA = 44;
const MINUS = 45;
const ZERO = 48;

/** The integers of a comma-separated list, as group_concat writes them; none for null. */
function integers(list: string | null, what: string): Float64Array {
  if (list === null) return new Float64Array(0);
  let count = 1;
  for (let i = 0; i < list.length; i++) if (list.charCodeAt(i) === COMMA) count++;
  const values = new Float64Array(count);
  for (let n = 0, i = 0; n < count; n++, i++) {
    const first = i;
    const negative = list.charCodeAt(i) === MINUS;
    if (negative) i++;
    let value = 0;
    let digits = 0;
    for (; i < list.length; i++, digits++) {
      const digit = list.charCodeAt(i) - ZERO;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    // Each integer ends at a comma, the last at the list's end; 15 digits stay exact in a double.
    if (digits === 0 || digits > 15 || (i < list.length ? list.charCodeAt(i) !== COMMA : n !== count - 1)) {
      const comma = list.indexOf(",", first);
      throw corrupt(`its ${what} hold ${JSON.stringify(list.slice(first, comma < 0 ? list.length : comma))}, not an integer`);
    }
    values[n] = negative ? -value : value;
  }
  return values;
}

function corrupt(why: string): Error {
  return new Error(`corrupt summary stream: ${why}`);
}
