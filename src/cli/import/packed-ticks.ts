import type { SmiLineParser } from "../../server/sources/smi-line-parser";
import type { SmiGpuRow } from "../../server/sources/nvidia-smi-csv";
import { METRIC_KEYS, type GpuInfo, type GpuSample } from "../../telemetry/types";
import { LogPieceReader, type TickCursor, type UnreadableLine } from "./recording-reader";

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
  private lastName: string | null | undefined = undefined;
  private lastNameId = NOT_QUERIED;
  private lastDriverVersion: string | null | undefined = undefined;
  private lastDriverVersionId = NOT_QUERIED;
  private fresh: string[] = [];
  private unreadable: UnreadableLine[] = [];
  /** Rows of the ended ticks, then those of the open one. */
  private rows = new Float64Array(FIRST_ROWS * ROW_FIELDS);
  private rowCount = 0;
  /** Rows of `rows` in ticks already ended. */
  private endedRows = 0;
  private tickRows: number[] = [];
  private tickTimes: number[] = [];
  /**
   * Per text id, the tick it last named a GPU in: a GPU (its uuid, else `index:N`, as
   * TickSplitter names them, by its id as a text) seen again in the open tick begins the next.
   */
  private readonly tickOfGpu: number[] = [];
  /** Ticks begun so far; the open one's number. */
  private tick = 0;
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
    const uuidId = this.textId(uuid);
    // A line without a uuid names its GPU `index:N`, a text sent like any other but never read.
    const gpu = uuid === null ? this.textId(`index:${index ?? 0}`) : uuidId;
    if (this.tickOfGpu[gpu] === this.tick) {
      this.endTick();
      this.tick++;
    }
    while (this.tickOfGpu.length <= gpu) this.tickOfGpu.push(-1);
    this.tickOfGpu[gpu] = this.tick;
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
    rows[at + UUID] = uuidId;
    rows[at + INDEX] = index ?? Number.NaN;
    rows[at + TIMESTAMP] = timestamp ?? Number.NaN;
    // A machine's GPUs mostly share their name and driver: the text of the line before is tried first.
    if (name !== this.lastName) this.lastNameId = this.textId((this.lastName = name));
    rows[at + NAME] = this.lastNameId;
    if (driverVersion !== this.lastDriverVersion) this.lastDriverVersionId = this.textId((this.lastDriverVersion = driverVersion));
    rows[at + DRIVER_VERSION] = this.lastDriverVersionId;
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

/**
 * The import's side: a cursor over each piece as it arrives, its lines those `parser` (made
 * from the same header) would have given; a sample is made only when asked for, straight
 * from the packed values.
 */
export class PackedTickCursor implements TickCursor {
  private readonly texts: string[] = [];
  private rows: Float64Array = new Float64Array(0);
  private tickRows: Uint32Array = new Uint32Array(0);
  private tickTimes: Float64Array = new Float64Array(0);
  private tickAt = -1;
  /** Lines of the current tick not yet moved to. */
  private linesLeft = 0;
  /** Where the next line of the tick starts in `rows`. */
  private nextAt = 0;
  /** Where the current line starts in `rows`. */
  private at = -ROW_FIELDS;
  recordedAt: number | null = null;
  line = 0;
  uuid: string | null = null;
  index: number | null = null;
  timestamp: number | null = null;

  constructor(private readonly parser: SmiLineParser) {}

  /** Starts over on `packed`, its texts added to those sent before. */
  over(packed: PackedTicks): this {
    for (const text of packed.texts) this.texts.push(text);
    this.rows = packed.rows;
    this.tickRows = packed.tickRows;
    this.tickTimes = packed.tickTimes;
    this.tickAt = -1;
    this.linesLeft = 0;
    this.nextAt = 0;
    this.at = -ROW_FIELDS;
    return this;
  }

  nextTick(): boolean {
    // Lines of the tick left unread are passed over.
    this.nextAt += this.linesLeft * ROW_FIELDS;
    if (++this.tickAt >= this.tickRows.length) return false;
    this.linesLeft = this.tickRows[this.tickAt];
    const recordedAt = this.tickTimes[this.tickAt];
    this.recordedAt = recordedAt === recordedAt ? recordedAt : null;
    return true;
  }

  nextLine(): boolean {
    if (this.linesLeft === 0) return false;
    this.linesLeft--;
    const { rows } = this;
    const at = (this.at = this.nextAt);
    this.nextAt += ROW_FIELDS;
    const index = rows[at + INDEX];
    const timestamp = rows[at + TIMESTAMP];
    // As small integers, not a heap number each, as they come out of a Float64Array.
    this.line = whole(rows[at + LINE]);
    this.uuid = this.text(rows[at + UUID]) ?? null;
    this.index = index === index ? whole(index) : null;
    this.timestamp = timestamp === timestamp ? timestamp : null;
    return true;
  }

  sampleFor(info: GpuInfo, timestamp: number): GpuSample {
    return this.parser.sampleOf(this.rows, this.at + VALUES, info, timestamp);
  }

  toRow(): SmiGpuRow {
    const { rows, at } = this;
    return this.parser
      .lineOf(
        rows,
        at + VALUES,
        this.line,
        this.uuid,
        this.index,
        this.timestamp,
        this.text(rows[at + NAME]),
        this.text(rows[at + DRIVER_VERSION]),
      )
      .toRow();
  }

  private text(id: number): string | null | undefined {
    if (id === NO_TEXT) return null;
    if (id === NOT_QUERIED) return undefined;
    return this.texts[id];
  }
}
