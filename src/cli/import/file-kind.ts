import fs from "node:fs";
import { CommandFailure } from "../command";
import { csvCells, looksLikeExportHeader } from "./exported-record";
import { EXPECTED_FILES } from "./recording-reader";

/**
 * What `nvidia-oc import` was given, told from the file's first bytes: an
 * nvidia-oc database (a backup, another recorder's), one of its exports (CSV or
 * JSON), or else an nvidia-smi CSV log, whose header the log reader checks.
 */

export type ImportFileKind = "database" | "export-csv" | "export-json" | "smi-log";

const SQLITE_MAGIC = Buffer.from("SQLite format 3\0", "latin1");
/** Enough for any header line the export or nvidia-smi writes. */
const HEAD_BYTES = 64 * 1024;

export function importFileKind(file: string): ImportFileKind {
  const head = readHead(file);
  if (head.length === 0) throw new CommandFailure(`${file} is empty; expected ${EXPECTED_FILES}`);
  if (head.subarray(0, SQLITE_MAGIC.length).equals(SQLITE_MAGIC)) return "database";
  const text = head.toString("utf8").replace(/^\uFEFF/, "");
  const start = text.trimStart();
  if (start.startsWith("[")) return "export-json";
  const firstLine = start.split(/\r\n|\r|\n/, 1)[0];
  const cells = csvCells(firstLine);
  if (cells !== null && looksLikeExportHeader(cells)) return "export-csv";
  return "smi-log";
}

function readHead(file: string): Buffer {
  let handle: number | null = null;
  try {
    handle = fs.openSync(file, "r");
    const buffer = Buffer.alloc(HEAD_BYTES);
    return buffer.subarray(0, fs.readSync(handle, buffer, 0, HEAD_BYTES, 0));
  } catch (error) {
    throw new CommandFailure(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  } finally {
    if (handle !== null) fs.closeSync(handle);
  }
}
