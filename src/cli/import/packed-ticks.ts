import type { SmiLine, SmiLineParser } from "../../server/sources/smi-line-parser";
import { METRIC_KEYS } from "../../telemetry/types";
import { LogPieceReader, type RecordedTick, type UnreadableLine } from "./recording-reader";

/**
 * Ticks read by the reader thread, packed for the import's thread: numbers in
 * one Float64Array handed over whole (not copied), texts (uuids, names) sent
 * once each and named by their position after that.
 */

export interface PackedTicks {
  /** Bytes of the file read so far. */
  bytesRead: number;
  /** Unreadable lines met since the last pack. */
  unreadable: UnreadableLine[];
  /** Texts not sent before; they follow those sent earlier. */
  texts: string[];
  /** ROW_FIELDS numbers per row. */
  rows: Float64Array;
  /** Rows of each tick, in order. */
  tickRows: Uint32Array;
  /** When each tick was recorded (NaN: none of its rows has a time). */
  tickTimes: Float64Array;
}

const LINE = 0;
const UUID = 1;
const INDEX = 2;
const TIMESTAMP = 3;
const NAME = 4;
const DRIVER_VERSION = 5;
const VALUES = 6;
const ROW_FIELDS = VALUES + METRIC_KEYS.length;

/** Text positions: -1 for null (N/A), -2 for a column the file lacks. */
const NO_TEXT = -1;
const NOT_QUERIED = -2;

/** Rows a PackingReader's buffer holds at first; it grows as a piece needs. */
const FIRST_ROWS = 4096;

/**
 * The reader side: reads the log (LogPieceReader) straight into packed ticks, each line
 * scanned into the parser's reused fields and copied into the rows of the piece, ticks split
 * as TickSplitter splits them; no object per line. Remembers the texts it sent.
 */
export class PackingReader extends LogPieceReader<PackedTicks> {
  private readonly textIds = new Map<string, number>();
  private fresh: string[] = [];
  private unreadable: UnreadableLine[] = [];
  /** Rows of the ended ticks, then those of the open one. */
  private rows = new Float64Array(FIRST_ROWS * ROW_FIELDS);
  private rowCount = 0;
  /** Rows of `rows` in ticks already ended. */
  private endedRows = 0;
  private tickRows: number[] = [];
  private tickTimes: number[] = [];
  /** The open tick: its GPUs (uuid, else `index:N`, as TickSplitter names them), rows and time. */
  private readonly tickGpus = new Set<string>();
  private openRows = 0;
  private openTime: number | null = null;

  constructor(file: string) {
    super(file, (line) => this.unreadable.push(line));
  }

  /** The file's ticks, packed a piece at a time. */
  packedTicks(): AsyncGenerator<PackedTicks> {
    return this.pieces();
  }

  /** Unreadable lines not yet sent with a piece. */
  takeUnreadable(): UnreadableLine[] {
    return this.unreadable.splice(0);
  }

  protected takeLine(parser: SmiLineParser, bytes: Buffer, start: number, end: number, line: number): void {
    const error = parser.scan(bytes, start, end);
    if (error !== null) {
      this.onUnreadable({ line, error });
      return;
    }
    const { uuid, index, timestamp, name, driverVersion, values } = parser.scanned;
    const gpu = uuid ?? `index:${index ?? 0}`;
    if (this.tickGpus.has(gpu)) {
      this.endTick();
      this.tickGpus.clear();
    }
    this.tickGpus.add(gpu);
    this.openRows++;
    this.openTime ??= timestamp;
    if ((this.rowCount + 1) * ROW_FIELDS > this.rows.length) {
      const grown = new Float64Array(this.rows.length * 2);
      grown.set(this.rows.subarray(0, this.rowCount * ROW_FIELDS));
      this.rows = grown;
    }
    const rows = this.rows;
    const at = this.rowCount * ROW_FIELDS;
    rows[at + LINE] = line;
    rows[at + UUID] = this.textId(uuid);
    rows[at + INDEX] = index ?? Number.NaN;
    rows[at + TIMESTAMP] = timestamp ?? Number.NaN;
    rows[at + NAME] = this.textId(name);
    rows[at + DRIVER_VERSION] = this.textId(driverVersion);
    for (let slot = 0; slot < METRIC_KEYS.length; slot++) rows[at + VALUES + slot] = values[slot];
    this.rowCount++;
  }

  private endTick() {
    this.tickRows.push(this.openRows);
    this.tickTimes.push(this.openTime ?? Number.NaN);
    this.endedRows += this.openRows;
    this.openRows = 0;
    this.openTime = null;
  }

  protected piece(atEnd: boolean): PackedTicks | null {
    if (atEnd && this.openRows > 0) this.endTick();
    if (this.tickRows.length === 0) return null;
    const ended = this.endedRows * ROW_FIELDS;
    const rows = this.rows.slice(0, ended);
    // The open tick's rows move to the front, for the next piece.
    this.rows.copyWithin(0, ended, this.rowCount * ROW_FIELDS);
    this.rowCount -= this.endedRows;
    this.endedRows = 0;
    const tickRows = Uint32Array.from(this.tickRows);
    const tickTimes = Float64Array.from(this.tickTimes);
    this.tickRows = [];
    this.tickTimes = [];
    const texts = this.fresh;
    this.fresh = [];
    return { bytesRead: this.bytesRead, unreadable: this.takeUnreadable(), texts, rows, tickRows, tickTimes };
  }

  private textId(text: string | null | undefined): number {
    if (text === null) return NO_TEXT;
    if (text === undefined) return NOT_QUERIED;
    let id = this.textIds.get(text);
    if (id === undefined) {
      id = this.textIds.size;
      this.textIds.set(text, id);
      this.fresh.push(text);
    }
    return id;
  }
}

/** `x`, as a small integer when it is one. */
const whole = (x: number) => (x === (x | 0) && (x !== 0 || 1 / x > 0) ? x | 0 : x);

/** Unpacks on the import's side, into the lines `parser` (made from the same header) would have given. */
export class TickUnpacker {
  private readonly texts: string[] = [];

  constructor(private readonly parser: SmiLineParser) {}

  unpack(packed: PackedTicks): RecordedTick[] {
    this.texts.push(...packed.texts);
    const { rows } = packed;
    const ticks: RecordedTick[] = [];
    let at = 0;
    packed.tickRows.forEach((count, i) => {
      const lines: SmiLine[] = [];
      for (let n = 0; n < count; n++, at += ROW_FIELDS) {
        const index = rows[at + INDEX];
        const timestamp = rows[at + TIMESTAMP];
        lines.push(
          this.parser.lineOf(
            rows,
            at + VALUES,
            // As small integers, not a heap number each, as they come out of a Float64Array.
            whole(rows[at + LINE]),
            this.text(rows[at + UUID]) ?? null,
            index === index ? whole(index) : null,
            timestamp === timestamp ? timestamp : null,
            this.text(rows[at + NAME]),
            this.text(rows[at + DRIVER_VERSION]),
          ),
        );
      }
      const recordedAt = packed.tickTimes[i];
      ticks.push({ recordedAt: recordedAt === recordedAt ? recordedAt : null, rows: lines });
    });
    return ticks;
  }

  private text(id: number): string | null | undefined {
    if (id === NO_TEXT) return null;
    if (id === NOT_QUERIED) return undefined;
    return this.texts[id];
  }
}
