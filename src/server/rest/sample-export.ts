import { METRIC_CATALOGUE, type MetricDefinition } from "../../telemetry/metric-catalogue";
import { decodeChunkColumns } from "../storage/chunk-codec";
import { rowsToColumns } from "../storage/chunk-columns";
import type { BlockContent, StoredGpu, TelemetryStore } from "../storage/telemetry-store";
import { boundedMemo } from "./bounded-memo";
import { csvCell, reasonsCell } from "./records-csv";
import { reasonsText } from "./records-json";

/**
 * The export's samples written as bytes straight from decoded chunk columns: the same text
 * sampleCsvLine and sampleRecordJson give for each sample, without a row object, a sample
 * object or a string per row. Those lived while the other GPUs' rows of the same minutes were
 * written, long enough to reach V8's old generation, which then grew by 150-200 MB during a
 * 48-hour export of 8 GPUs (bench/MEMORY.md). What stays alive here is one chunk's columns per
 * GPU (typed arrays, about 150 bytes a row) and the output buffer.
 */

const METRICS = METRIC_CATALOGUE as readonly MetricDefinition[];
const METRIC_COUNT = METRICS.length;
const ALL_METRICS = METRICS.map((_, column) => column);
const DECIMALS = METRICS.map((metric) => metric.decimals);
const SCALES = METRICS.map((metric) => 10 ** metric.decimals);
const REASONS_COLUMN = METRICS.findIndex((metric) => metric.key === "clockEventReasons");
/** Scaled integers up to 15 digits are written digit by digit (see writeScaled). */
const MAX_DIGIT_WRITTEN = 999_999_999_999_999;

const COMMA = 0x2c;
const QUOTE = 0x22;
const MINUS = 0x2d;
const POINT = 0x2e;
const ZERO = 0x30;
const CLOSE_BRACE = 0x7d;
const CRLF = Buffer.from("\r\n");
const NULL_TEXT = Buffer.from("null");
const FIRST_JSON_ROW = Buffer.from("\n");
const NEXT_JSON_ROW = Buffer.from(",\n");
/** `,"temperature":` and so on, in catalogue order. */
const JSON_KEYS = METRICS.map((metric) => Buffer.from(`,"${metric.restName}":`));

const csvReasons = boundedMemo(1024, (mask: number | null) => Buffer.from(reasonsCell(mask)));
const jsonReasons = boundedMemo(1024, (mask: number | null) => Buffer.from(reasonsText(mask)));

export type ExportFormat = "csv" | "json";

const NO_BYTES: Buffer = Buffer.alloc(0);

/**
 * Bytes written into one growing buffer, handed out in pieces by take(). A piece handed out is
 * not written to again until its taker gives it back (resume): the response keeps it until the
 * socket or the compressor has taken it in.
 */
class OutputBuffer {
  private bytes: Buffer = NO_BYTES;
  length = 0;

  constructor(private readonly capacity: number) {}

  /** Everything written since the last take. */
  take(): Buffer {
    const piece = this.bytes.subarray(0, this.length);
    this.bytes = NO_BYTES;
    this.length = 0;
    return piece;
  }

  /**
   * Writes go on into `spent`, a piece from take() that its taker is done with, or into new
   * bytes: a buffer per piece would leave tens of megabytes of sent pieces outside the heap until
   * the next collection, which the heap's own size does not call for.
   */
  resume(spent: Buffer | undefined) {
    const whole = spent === undefined ? NO_BYTES : Buffer.from(spent.buffer, spent.byteOffset, spent.buffer.byteLength - spent.byteOffset);
    this.bytes = whole.length >= this.capacity ? whole : Buffer.allocUnsafe(this.capacity);
  }

  private room(count: number) {
    if (this.length + count <= this.bytes.length) return;
    const larger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.capacity, this.length + count));
    this.bytes.copy(larger, 0, 0, this.length);
    this.bytes = larger;
  }

  put(piece: Uint8Array) {
    this.room(piece.length);
    this.bytes.set(piece, this.length);
    this.length += piece.length;
  }

  byte(value: number) {
    this.room(1);
    this.bytes[this.length++] = value;
  }

  /** Text of ASCII characters only (numbers, dates). */
  ascii(text: string) {
    this.room(text.length);
    this.length += this.bytes.write(text, this.length, "latin1");
  }

  /** A non-negative integer below 2^53, in decimal. */
  unsigned(value: number) {
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    this.room(digits);
    let at = this.length + digits;
    this.length = at;
    let rest = value;
    do {
      this.bytes[--at] = ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    } while (rest > 0);
  }

  /** `value` as `digits` decimal digits, zeros in front. */
  padded(value: number, digits: number) {
    this.room(digits);
    let at = this.length + digits;
    this.length = at;
    let rest = value;
    for (let i = 0; i < digits; i++) {
      this.bytes[--at] = ZERO + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  }
}

/**
 * `scaled / 10^decimals` as String(scaled / 10^decimals) writes it, for an integer of at most
 * 15 digits: that quotient is the double nearest the decimal number, and a decimal of at most 15
 * significant digits is the shortest text that reads back as that double, which is what
 * String gives (in plain notation: the smallest such non-zero value, 10^-decimals, is far above
 * 10^-7, where exponents would start).
 */
function writeScaled(out: OutputBuffer, scaled: number, decimals: number, scale: number) {
  if (scaled < 0) {
    out.byte(MINUS);
    scaled = -scaled;
  }
  if (decimals === 0) return out.unsigned(scaled);
  const whole = Math.floor(scaled / scale);
  let fraction = scaled - whole * scale;
  out.unsigned(whole);
  if (fraction === 0) return;
  out.byte(POINT);
  let digits = decimals;
  while (fraction % 10 === 0) {
    fraction /= 10;
    digits--;
  }
  out.padded(fraction, digits);
}

const MINUTE_MS = 60_000;
/** The last millisecond of year 9999: later dates need the extended ISO form. */
const MAX_PLAIN_ISO = 253_402_300_799_999;

/** ISO-8601 text as toISOString writes it; the part up to the minute is made once a minute. */
class IsoWriter {
  private minute = Number.NaN;
  private prefix = Buffer.alloc(0);

  write(out: OutputBuffer, ms: number) {
    if (!Number.isInteger(ms) || ms < 0 || ms > MAX_PLAIN_ISO) return out.ascii(new Date(ms).toISOString());
    const minute = Math.floor(ms / MINUTE_MS);
    if (minute !== this.minute) {
      this.minute = minute;
      this.prefix = Buffer.from(new Date(minute * MINUTE_MS).toISOString().slice(0, 17));
    }
    out.put(this.prefix);
    const inMinute = ms - minute * MINUTE_MS;
    const seconds = Math.floor(inMinute / 1000);
    out.padded(seconds, 2);
    out.byte(POINT);
    out.padded(inMinute - seconds * 1000, 3);
    out.byte(0x5a); // Z
  }
}

/**
 * One GPU's samples of the window, oldest first, a block at a time as columns: `table` holds
 * column c of the block at c * rowCount, as stored integers (`scaled`) or as values (rows kept
 * decoded, or not yet sealed), NaN for null.
 */
class GpuCursor {
  gpu!: StoredGpu;
  timestamps = new Float64Array(0);
  table = new Float64Array(0);
  rowCount = 0;
  scaled = false;
  /** Positions of the block's rows inside the window, oldest first; `next` indexes them. */
  order: number[] = [];
  next = 0;
  /** The row `next` points at, while there is one. */
  row = -1;
  timestamp = 0;
  done = false;

  constructor(
    private readonly blocks: Generator<BlockContent>,
    private readonly from: number,
    private readonly to: number,
  ) {
    this.advance();
  }

  advance() {
    this.next++;
    while (this.next >= this.order.length) {
      if (!this.load()) {
        this.done = true;
        return;
      }
    }
    this.row = this.order[this.next];
    this.timestamp = this.timestamps[this.row];
  }

  /** Reads the next block; false when there is none. */
  private load(): boolean {
    const step = this.blocks.next();
    if (step.done) return false;
    const { gpu, content } = step.value;
    this.gpu = gpu;
    if ("data" in content) {
      const { rowCount, timestamps, table } = decodeChunkColumns(content.data, ALL_METRICS);
      // Both may be shared scratch of the codec: copied, as the other GPUs' chunks are decoded meanwhile.
      this.hold(rowCount);
      this.timestamps.set(timestamps);
      this.table.set(table.subarray(0, METRIC_COUNT * rowCount));
      this.scaled = true;
    } else {
      this.hold(content.length);
      for (let i = 0; i < content.length; i++) this.timestamps[i] = content[i].timestamp;
      this.table.set(rowsToColumns(content).subarray(0, METRIC_COUNT * content.length));
      this.scaled = false;
    }
    const order: number[] = [];
    let sorted = true;
    for (let i = 0; i < this.rowCount; i++) {
      const timestamp = this.timestamps[i];
      if (timestamp < this.from || timestamp > this.to) continue;
      if (order.length > 0 && timestamp < this.timestamps[order[order.length - 1]]) sorted = false;
      order.push(i);
    }
    // Array sort is stable: rows of equal timestamps keep their stored order, as the row export did.
    if (!sorted) order.sort((a, b) => this.timestamps[a] - this.timestamps[b]);
    this.order = order;
    this.next = 0;
    return true;
  }

  /** Room for a block of `rowCount` rows; the arrays are kept from block to block and only grow. */
  private hold(rowCount: number) {
    this.rowCount = rowCount;
    if (this.timestamps.length < rowCount) this.timestamps = new Float64Array(rowCount);
    if (this.table.length < METRIC_COUNT * rowCount) this.table = new Float64Array(METRIC_COUNT * rowCount);
  }

  /** Metric `column` of the current row: the stored integer or the value, NaN for null. */
  cell(column: number): number {
    return this.table[column * this.rowCount + this.row];
  }

  close() {
    this.blocks.return(undefined);
  }
}

interface GpuPrefix {
  index: number;
  uuid: string;
  name: string;
  text: Buffer;
}

/** A GPU's cells before the timestamp, made once per GPU record and format while they stay the same. */
const gpuPrefixes = { csv: new WeakMap<StoredGpu, GpuPrefix>(), json: new WeakMap<StoredGpu, GpuPrefix>() };

function prefixOf(gpu: StoredGpu, format: ExportFormat): Buffer {
  const kept = gpuPrefixes[format].get(gpu);
  if (kept !== undefined && kept.index === gpu.index && kept.uuid === gpu.uuid && kept.name === gpu.name) return kept.text;
  const text =
    format === "csv"
      ? `${gpu.index},${csvCell(gpu.uuid)},${csvCell(gpu.name)},`
      : `{"gpu_index":${gpu.index},"gpu_uuid":${JSON.stringify(gpu.uuid)},"gpu_name":${JSON.stringify(gpu.name)},"timestamp":"`;
  const prefix = { index: gpu.index, uuid: gpu.uuid, name: gpu.name, text: Buffer.from(text) };
  gpuPrefixes[format].set(gpu, prefix);
  return prefix.text;
}

/**
 * Every sample of [from, to] of the GPUs, oldest first (ties by GPU index), in the export's
 * format, as pieces of about `pieceBytes`. The pieces do not include the CSV header or the
 * JSON array's brackets. A piece passed back to next() is written into again: only once nothing
 * else holds it. The caller may stop early; return() closes the reads.
 */
export function* exportPieces(
  store: TelemetryStore,
  window: { gpuIds: readonly number[]; from: number; to: number },
  format: ExportFormat,
  pieceBytes: number,
): Generator<Buffer, number, Buffer | undefined> {
  const cursors = window.gpuIds.map(
    (gpuId) => new GpuCursor(store.blockContents({ gpuIds: [gpuId], from: window.from, to: window.to }), window.from, window.to),
  );
  const out = new OutputBuffer(pieceBytes + 4096);
  const iso = new IsoWriter();
  let rows = 0;
  try {
    for (;;) {
      let pick: GpuCursor | null = null;
      for (const cursor of cursors) {
        if (cursor.done) continue;
        if (
          pick === null ||
          cursor.timestamp < pick.timestamp ||
          (cursor.timestamp === pick.timestamp && cursor.gpu.index < pick.gpu.index)
        ) {
          pick = cursor;
        }
      }
      if (pick === null) break;
      if (format === "csv") writeCsvRow(out, pick, iso);
      else writeJsonRow(out, pick, iso, rows === 0);
      rows++;
      pick.advance();
      if (out.length >= pieceBytes) out.resume(yield out.take());
    }
    if (out.length > 0) yield out.take();
    return rows;
  } finally {
    for (const cursor of cursors) cursor.close();
  }
}

/** A metric's value from the cursor's row, with the digits written by writeScaled where they are exact. */
function writeMetric(out: OutputBuffer, cursor: GpuCursor, column: number, missing: Buffer | null): boolean {
  const stored = cursor.cell(column);
  if (stored !== stored) {
    if (missing !== null) out.put(missing);
    return true;
  }
  const scale = SCALES[column];
  if (cursor.scaled) {
    if (stored >= -MAX_DIGIT_WRITTEN && stored <= MAX_DIGIT_WRITTEN) {
      writeScaled(out, stored, DECIMALS[column], scale);
      return true;
    }
    out.ascii(String(stored / scale));
    return true;
  }
  const scaled = Math.round(stored * scale);
  if (scaled / scale === stored && scaled >= -MAX_DIGIT_WRITTEN && scaled <= MAX_DIGIT_WRITTEN) {
    writeScaled(out, scaled, DECIMALS[column], scale);
    return true;
  }
  return false;
}

function reasonsMask(cursor: GpuCursor): number | null {
  const stored = cursor.cell(REASONS_COLUMN);
  if (stored !== stored) return null;
  return cursor.scaled ? stored / SCALES[REASONS_COLUMN] : stored;
}

/** sampleCsvLine's text: null is an empty cell, a number as String writes it. */
function writeCsvRow(out: OutputBuffer, cursor: GpuCursor, iso: IsoWriter) {
  out.put(prefixOf(cursor.gpu, "csv"));
  iso.write(out, cursor.timestamp);
  for (let column = 0; column < METRIC_COUNT; column++) {
    out.byte(COMMA);
    if (!writeMetric(out, cursor, column, null)) out.ascii(String(cursor.cell(column)));
  }
  out.byte(COMMA);
  out.put(csvReasons(reasonsMask(cursor)));
  out.put(CRLF);
}

/** sampleRecordJson's text after the array's separator: null and non-finite values are null. */
function writeJsonRow(out: OutputBuffer, cursor: GpuCursor, iso: IsoWriter, first: boolean) {
  out.put(first ? FIRST_JSON_ROW : NEXT_JSON_ROW);
  out.put(prefixOf(cursor.gpu, "json"));
  iso.write(out, cursor.timestamp);
  out.byte(QUOTE);
  for (let column = 0; column < METRIC_COUNT; column++) {
    out.put(JSON_KEYS[column]);
    if (!writeMetric(out, cursor, column, NULL_TEXT)) {
      const value = cursor.cell(column);
      if (Number.isFinite(value)) out.ascii(String(value));
      else out.put(NULL_TEXT);
    }
  }
  out.put(jsonReasons(reasonsMask(cursor)));
  out.byte(CLOSE_BRACE);
}
