import fs from "node:fs";
import readline from "node:readline";
import { parseCsvHeader, type CsvColumn, type SmiGpuRow } from "../../server/sources/nvidia-smi-csv";
import type { GpuInfo, GpuSample } from "../../telemetry/types";
import { SmiLineParser, type SmiLine } from "../../server/sources/smi-line-parser";
import { TickSplitter, type RowTick } from "../../server/sources/recording-ticks";
import { CommandFailure } from "../command";

/**
 * Reads an nvidia-smi CSV log (the replay format: a header line, then one line
 * per GPU per tick) as ticks, split as the replay source splits them (recording-ticks.ts).
 * Lines end as readline ends them (\n, \r\n or a lone \r) and are read in the
 * bytes read from the file, not decoded one by one: UTF-8 has no line break
 * bytes inside its characters.
 */

export type RecordedTick = RowTick<SmiLine>;

/**
 * A batch of ticks read tick by tick and line by line through this one object, which
 * stands for the line it is at: no object per line for a reader that has none.
 */
export interface TickCursor {
  /** Moves to the next tick; false after the last. */
  nextTick(): boolean;
  /** The tick's first recorded time (ms); null when none of its lines has one. */
  readonly recordedAt: number | null;
  /** Moves to the tick's next line; false after its last. */
  nextLine(): boolean;
  /** The line's number in its file. */
  readonly line: number;
  readonly uuid: string | null;
  readonly index: number | null;
  /** Epoch ms of the line's `timestamp` column; null when not queried or N/A. */
  readonly timestamp: number | null;
  /** The line's sample, as SmiLine.sampleFor gives it. */
  sampleFor(info: GpuInfo, timestamp: number): GpuSample;
  /** The row parseCsvRow would give (SmiLine.toRow). */
  toRow(): SmiGpuRow;
}

/** A TickCursor over ticks of SmiLines. */
export class SmiLineTickCursor implements TickCursor {
  private ticks: readonly RecordedTick[] = [];
  private tickAt = -1;
  private lineAt = -1;
  private current: SmiLine | null = null;

  /** Starts over on `ticks`. */
  over(ticks: readonly RecordedTick[]): this {
    this.ticks = ticks;
    this.tickAt = -1;
    this.lineAt = -1;
    this.current = null;
    return this;
  }

  nextTick(): boolean {
    this.lineAt = -1;
    this.current = null;
    return ++this.tickAt < this.ticks.length;
  }

  get recordedAt(): number | null {
    return this.ticks[this.tickAt].recordedAt;
  }

  nextLine(): boolean {
    const rows = this.ticks[this.tickAt].rows;
    if (++this.lineAt >= rows.length) return false;
    this.current = rows[this.lineAt];
    return true;
  }

  private get at(): SmiLine {
    if (this.current === null) throw new Error("the cursor is at no line");
    return this.current;
  }

  get line() {
    return this.at.line;
  }

  get uuid() {
    return this.at.uuid;
  }

  get index() {
    return this.at.index;
  }

  get timestamp() {
    return this.at.timestamp;
  }

  sampleFor(info: GpuInfo, timestamp: number): GpuSample {
    return this.at.sampleFor(info, timestamp);
  }

  toRow(): SmiGpuRow {
    return this.at.toRow();
  }
}

export interface UnreadableLine {
  line: number;
  error: string;
}

/** Bytes read from the file at a time. */
const READ_BYTES = 1 << 20;
const LF = 10;
const CR = 13;

/**
 * Reads the data lines of an nvidia-smi CSV log a piece at a time (what one read of the file
 * ends), each handed to `takeLine` with the parser its header made; `piece` says what the
 * lines taken since the piece before come to.
 */
export abstract class LogPieceReader<Piece> {
  /** Bytes taken from the file so far, for progress. */
  bytesRead = 0;
  private parser: SmiLineParser | null = null;
  private lineNumber = 0;

  constructor(
    readonly file: string,
    protected readonly onUnreadable: (line: UnreadableLine) => void = () => undefined,
  ) {}

  /** A data line, `bytes` from `start` to `end`, numbered `line` in the file. */
  protected abstract takeLine(parser: SmiLineParser, bytes: Buffer, start: number, end: number, line: number): void;

  /** What the lines taken since the last call end; `atEnd` at the end of the file. Null: nothing yet. */
  protected abstract piece(atEnd: boolean): Piece | null;

  /** The pieces of the file, in order. */
  protected async *pieces(): AsyncGenerator<Piece> {
    let file: fs.promises.FileHandle | null = null;
    try {
      file = await fs.promises.open(this.file, "r");
      // One buffer for the whole file: an unfinished line moves to its start, the next read goes after it.
      let buffer = Buffer.allocUnsafe(READ_BYTES);
      let kept = 0;
      for (;;) {
        if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
        const { bytesRead } = await file.read(buffer, kept, buffer.length - kept, null);
        if (bytesRead === 0) break;
        this.bytesRead += bytesRead;
        const filled = kept + bytesRead;
        const used = this.readLines(buffer.subarray(0, filled), false);
        buffer.copyWithin(0, used, filled);
        kept = filled - used;
        const piece = this.piece(false);
        if (piece !== null) yield piece;
      }
      this.readLines(buffer.subarray(0, kept), true);
      if (this.parser === null) checkedHeader(this.file, null);
      const last = this.piece(true);
      if (last !== null) yield last;
    } catch (error) {
      if (error instanceof CommandFailure) throw error;
      throw new CommandFailure(`cannot read ${this.file}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await file?.close();
    }
  }

  /** Reads the whole lines in `bytes` (all of them at the end of the file); returns where the unfinished one starts. */
  private readLines(bytes: Buffer, atEnd: boolean): number {
    let start = 0;
    let nextLf = bytes.indexOf(LF);
    let nextCr = bytes.indexOf(CR);
    while (start < bytes.length) {
      if (nextLf !== -1 && nextLf < start) nextLf = bytes.indexOf(LF, start);
      if (nextCr !== -1 && nextCr < start) nextCr = bytes.indexOf(CR, start);
      const end = nextCr === -1 || (nextLf !== -1 && nextLf < nextCr) ? nextLf : nextCr;
      if (end === -1) {
        if (!atEnd) return start;
        this.readLine(bytes, start, bytes.length);
        return bytes.length;
      }
      // A \r that ends what was read may be the first half of a \r\n.
      if (end === bytes.length - 1 && bytes[end] === CR && !atEnd) return start;
      this.readLine(bytes, start, end);
      start = end + (bytes[end] === CR && bytes[end + 1] === LF ? 2 : 1);
    }
    return start;
  }

  private readLine(bytes: Buffer, start: number, end: number) {
    this.lineNumber++;
    if (isBlank(bytes, start, end)) return;
    if (this.parser === null) {
      this.parser = new SmiLineParser(checkedHeader(this.file, parseCsvHeader(bytes.toString("utf8", start, end))));
      return;
    }
    this.takeLine(this.parser, bytes, start, end, this.lineNumber);
  }
}

/** The log's lines as ticks, split as the replay source splits them; each piece the ticks it ended. */
export class RecordingReader extends LogPieceReader<RecordedTick[]> {
  private readonly splitter = new TickSplitter<SmiLine>();
  private ended: RecordedTick[] = [];

  /** The ticks of the file, those ended by each piece read from it together, through one cursor: each read to its end before the next is asked for. */
  async *tickCursors(): AsyncGenerator<TickCursor> {
    const cursor = new SmiLineTickCursor();
    for await (const ticks of this.pieces()) yield cursor.over(ticks);
  }

  protected takeLine(parser: SmiLineParser, bytes: Buffer, start: number, end: number, line: number): void {
    const parsed = parser.parse(bytes, start, end, line);
    if ("error" in parsed) {
      this.onUnreadable({ line, error: parsed.error });
      return;
    }
    const tick = this.splitter.add(parsed, parsed);
    if (tick) this.ended.push(tick);
  }

  protected piece(atEnd: boolean): RecordedTick[] | null {
    if (atEnd) {
      const last = this.splitter.finish();
      if (last) this.ended.push(last);
    }
    if (this.ended.length === 0) return null;
    const ended = this.ended;
    this.ended = [];
    return ended;
  }
}

/** Nothing but white space, as trim() sees it. */
function isBlank(bytes: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return bytes.toString("utf8", start, end).trim() === "";
    if (byte !== 32 && !(byte >= 9 && byte <= 13)) return false;
  }
  return true;
}

/** The header's columns, or a CommandFailure saying why the file is not a log this can read. */
export function checkedHeader(file: string, columns: CsvColumn[] | null): CsvColumn[] {
  if (columns === null) throw new CommandFailure(`${file} is empty; expected ${EXPECTED_FILES}`);
  if (!columns.some((column) => column.field !== null)) {
    throw new CommandFailure(
      `${file} does not start with an nvidia-smi CSV header line (capture it with nvidia-smi --query-gpu=<fields> --format=csv, without noheader); ` +
        `expected ${EXPECTED_FILES}`,
    );
  }
  return columns;
}

/** What `nvidia-oc import` reads, for the message refusing a file it cannot. */
export const EXPECTED_FILES =
  "an nvidia-oc export (CSV or JSON), an nvidia-oc database or backup, or an nvidia-smi CSV log with its header line";

/** The columns of the file's header line, or null for an empty file. */
export async function readHeader(file: string): Promise<CsvColumn[] | null> {
  const stream = fs.createReadStream(file, { encoding: "utf8" });
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const text of lines) if (text.trim() !== "") return parseCsvHeader(text);
    return null;
  } catch (error) {
    throw new CommandFailure(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    lines.close();
    stream.destroy();
  }
}

export const hasTimestampColumn = (columns: readonly CsvColumn[] | null) =>
  columns?.some((column) => column.field?.kind === "timestamp") ?? false;
