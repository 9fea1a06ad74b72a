import fs from "node:fs";
import readline from "node:readline";
import { parseCsvHeader, parseCsvRow, type CsvColumn, type SmiGpuRow } from "../../server/sources/nvidia-smi-csv";
import { TickSplitter, type RowTick } from "../../server/sources/recording-ticks";
import { CommandFailure } from "../command";

/**
 * Reads an nvidia-smi CSV log (the replay format: a header line, then one line
 * per GPU per tick) as ticks, split as the replay source splits them (recording-ticks.ts).
 */

export interface RecordedRow {
  line: number;
  row: SmiGpuRow;
}

export type RecordedTick = RowTick<RecordedRow>;

export interface UnreadableLine {
  line: number;
  error: string;
}

export class RecordingReader {
  /** Bytes taken from the file so far, for progress. */
  bytesRead = 0;
  private columns: CsvColumn[] | null = null;

  constructor(
    readonly file: string,
    private readonly onUnreadable: (line: UnreadableLine) => void = () => undefined,
  ) {}

  async *ticks(): AsyncGenerator<RecordedTick> {
    const stream = fs.createReadStream(this.file, { encoding: "utf8" });
    stream.on("data", (chunk) => (this.bytesRead += Buffer.byteLength(chunk)));
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    const ticks = new TickSplitter<RecordedRow>();
    let lineNumber = 0;
    try {
      for await (const text of lines) {
        lineNumber++;
        if (text.trim() === "") continue;
        if (!this.columns) {
          this.columns = checkedHeader(this.file, parseCsvHeader(text));
          continue;
        }
        const parsed = parseCsvRow(this.columns, text);
        if (!parsed.ok) {
          this.onUnreadable({ line: lineNumber, error: parsed.error });
          continue;
        }
        const ended = ticks.add(parsed.row, { line: lineNumber, row: parsed.row });
        if (ended) yield ended;
      }
      checkedHeader(this.file, this.columns);
      const last = ticks.finish();
      if (last) yield last;
    } catch (error) {
      if (error instanceof CommandFailure) throw error;
      throw new CommandFailure(`cannot read ${this.file}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      lines.close();
      stream.destroy();
    }
  }
}

/** The header's columns, or a CommandFailure saying why the file is not a log this can read. */
export function checkedHeader(file: string, columns: CsvColumn[] | null): CsvColumn[] {
  if (columns === null) throw new CommandFailure(`${file} is empty`);
  if (!columns.some((column) => column.field !== null)) {
    throw new CommandFailure(
      `${file} does not start with an nvidia-smi CSV header line (capture it with nvidia-smi --query-gpu=<fields> --format=csv, without noheader)`,
    );
  }
  return columns;
}

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
