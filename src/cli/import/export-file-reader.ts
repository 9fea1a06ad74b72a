import fs from "node:fs";
import readline from "node:readline";
import { CommandFailure } from "../command";
import { csvCells, exportHeaderProblem, recordOfCells } from "./exported-record";

/**
 * Reads the records of an export file a batch at a time, CSV (a header row,
 * then a record per line) or JSON (an array of records), without holding the
 * file in memory: a 48-hour export of 8 GPUs is over a gigabyte of JSON.
 */

export interface ReadRecord {
  /** Line of the file the record starts on. */
  line: number;
  record: unknown;
}

export type RecordBatch = { records: ReadRecord[]; unreadable: Array<{ line: number; error: string }> };

const RECORDS_PER_BATCH = 5_000;

export interface ExportFileReader {
  bytesRead: number;
  batches(): AsyncGenerator<RecordBatch>;
}

export class CsvExportReader implements ExportFileReader {
  bytesRead = 0;
  constructor(readonly file: string) {}

  async *batches(): AsyncGenerator<RecordBatch> {
    const stream = fs.createReadStream(this.file, { encoding: "utf8" });
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    let columns: string[] | null = null;
    let lineNumber = 0;
    let batch: RecordBatch = { records: [], unreadable: [] };
    try {
      for await (const text of lines) {
        lineNumber++;
        this.bytesRead = stream.bytesRead;
        if (text.trim() === "") continue;
        const cells = csvCells(text.replace(/^\uFEFF/, ""));
        if (columns === null) {
          const problem = cells === null ? "an unclosed quote" : exportHeaderProblem(cells);
          if (problem !== null) throw new CommandFailure(`${this.file}: the header is not an nvidia-oc CSV export's: ${problem}`);
          columns = cells!;
          continue;
        }
        if (cells === null || cells.length !== columns.length) {
          batch.unreadable.push({
            line: lineNumber,
            error: cells === null ? "an unclosed quote" : `expected ${columns.length} columns, got ${cells.length}`,
          });
          continue;
        }
        batch.records.push({ line: lineNumber, record: recordOfCells(columns, cells) });
        if (batch.records.length >= RECORDS_PER_BATCH) {
          yield batch;
          batch = { records: [], unreadable: [] };
        }
      }
      this.bytesRead = stream.bytesRead;
      if (batch.records.length > 0 || batch.unreadable.length > 0) yield batch;
    } catch (error) {
      if (error instanceof CommandFailure) throw error;
      throw new CommandFailure(`cannot read ${this.file}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      lines.close();
      stream.destroy();
    }
  }
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LF = 0x0a;
const OPEN_BRACKET = 0x5b;
const BYTE_ORDER_MARK = [0xef, 0xbb, 0xbf];

/**
 * The objects of a JSON array, each cut out by its braces and parsed alone:
 * however the array is laid out, memory holds one read piece and one record.
 * Braces and quotes are ASCII, so UTF-8 bytes never look like them.
 */
export class JsonExportReader implements ExportFileReader {
  bytesRead = 0;
  constructor(readonly file: string) {}

  async *batches(): AsyncGenerator<RecordBatch> {
    const stream = fs.createReadStream(this.file, { highWaterMark: 1 << 20 });
    let depth = 0;
    let inString = false;
    let escaped = false;
    let started = false;
    let line = 1;
    let recordLine = 0;
    let pieces: Buffer[] = [];
    let batch: RecordBatch = { records: [], unreadable: [] };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        this.bytesRead += chunk.length;
        let from = depth > 0 ? 0 : -1;
        for (let i = 0; i < chunk.length; i++) {
          const byte = chunk[i];
          if (byte === LF) line++;
          if (inString) {
            if (escaped) escaped = false;
            else if (byte === BACKSLASH) escaped = true;
            else if (byte === QUOTE) inString = false;
            continue;
          }
          if (!started) {
            if (byte === OPEN_BRACKET) started = true;
            else if (byte > 0x20 && !BYTE_ORDER_MARK.includes(byte))
              throw new CommandFailure(`${this.file} is not a JSON array of records`);
            continue;
          }
          if (byte === QUOTE) inString = true;
          else if (byte === OPEN_BRACE) {
            if (depth++ === 0) {
              from = i;
              recordLine = line;
            }
          } else if (byte === CLOSE_BRACE && depth > 0 && --depth === 0) {
            pieces.push(chunk.subarray(from, i + 1));
            const parsed = parsedRecord(Buffer.concat(pieces).toString("utf8"), recordLine, batch);
            if (parsed !== null) batch.records.push(parsed);
            pieces = [];
            from = -1;
          }
        }
        if (depth > 0) pieces.push(Buffer.from(chunk.subarray(from)));
        if (batch.records.length >= RECORDS_PER_BATCH) {
          yield batch;
          batch = { records: [], unreadable: [] };
        }
      }
      if (depth > 0) batch.unreadable.push({ line: recordLine, error: "the file ends inside this record" });
      if (batch.records.length > 0 || batch.unreadable.length > 0) yield batch;
    } catch (error) {
      if (error instanceof CommandFailure) throw error;
      throw new CommandFailure(`cannot read ${this.file}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      stream.destroy();
    }
  }
}

/** The record's value, or null (the record then listed as unreadable in `batch`). */
function parsedRecord(text: string, line: number, batch: RecordBatch): ReadRecord | null {
  try {
    return { line, record: JSON.parse(text) as unknown };
  } catch (error) {
    batch.unreadable.push({ line, error: error instanceof Error ? error.message : String(error) });
    return null;
  }
}
