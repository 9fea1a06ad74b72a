/**
 * Compact binary form of one GPU's consecutive samples (a "chunk", ~600 rows), stored as one BLOB.
 *
 * Byte 0 is the format version. New chunks are written in version 2 (chunk-codec-v2.ts: each
 * column predicted and range-coded in a stream of its own); this file reads them through it,
 * and reads and can still write version 1, which databases keep for good:
 *   rowCount                      unsigned varint
 *   timestamps                    first value, then delta-of-deltas, zigzag varints
 *   one column per METRIC_KEYS    mode byte, then (per mode) a presence bitmap and values
 * all raw-deflated after byte 0. A chunk written before a metric was appended to the catalogue
 * ends before that metric's column, which reads as all null. docs/storage-format.md has both
 * layouts. Metric values are stored as integers scaled by 10^METRIC_DECIMALS, so they
 * round-trip exactly to their declared decimals. */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { METRIC_DECIMALS, METRIC_KEYS, type MetricKey } from "../../telemetry/types";
import { columnScratch, columnsToRows, rowsToColumns, scaleColumn, VERSION_1_COLUMN_COUNT, type ChunkRow } from "./chunk-columns";
import { ByteReader, ByteWriter } from "./varint";

import { CHUNK_FORMAT_VERSION_2, ChunkCorruptError, decodeChunkColumnsV2, decodeChunkV2, encodeChunkV2 } from "./chunk-codec-v2";

export type { ChunkRow } from "./chunk-columns";
export { ChunkCorruptError } from "./chunk-codec-v2";

/** The version new chunks are written in; every earlier one still decodes. */
export const CHUNK_FORMAT_VERSION = CHUNK_FORMAT_VERSION_2;
const CHUNK_FORMAT_VERSION_1 = 1;

/**
 * Measured on a realistic 600-row chunk (`npx tsx bench/chunk-codec.bench.ts --levels`):
 * 6 is within 0.5% of 9's size at a third of its time; 1 and 3 are ~3% larger.
 */
const DEFLATE_LEVEL = 6;

const MODE_ALL_NULL = 0;
const MODE_CONSTANT = 1;
/** Zigzag deltas between consecutive present values. */
const MODE_DELTA = 2;
/** Zigzag values as they are: deltas between values near 2^53 would not fit in a double. */
const MODE_RAW = 3;
/** Or-ed into the mode when a presence bitmap (bit set = value present) follows the mode byte. */
const FLAG_HAS_NULLS = 0x80;

/** Deltas stay exact (|delta| <= 2^53) only while every value is within this. */
const MAX_DELTA_MODE_MAGNITUDE = 2 ** 52;
/** Keeps delta-of-deltas within the exact varint range; 2^50 ms is ~35,000 years. */
const MAX_TIMESTAMP_MAGNITUDE = 2 ** 50;
/** Guards against allocating absurd arrays from a corrupt row count. */
const MAX_ROWS_PER_CHUNK = 10_000_000;

const METRIC_SCALES: readonly number[] = METRIC_KEYS.map((key) => 10 ** METRIC_DECIMALS[key]);

/** Reused between calls: encoding is synchronous and deflate copies its input. */
const sharedWriter = new ByteWriter(64 * 1024);

/**
 * Throws RangeError for a timestamp that is not an integer within ±2^50, or a metric value that is
 * infinite or beyond ±2^53 once scaled. NaN is stored as null.
 */
export function encodeChunk(rows: readonly ChunkRow[]): Buffer {
  return encodeChunkV2(rows);
}

/** Format version 1, as earlier builds wrote it: kept to compare the two and to prove old blobs still read. */
export function encodeChunkVersion1(rows: readonly ChunkRow[]): Buffer {
  const writer = sharedWriter;
  writer.reset();
  const rowCount = rows.length;
  writer.writeUnsigned(rowCount);
  writeTimestamps(writer, rows);

  const table = rowsToColumns(rows);
  for (let column = 0; column < METRIC_KEYS.length; column++) {
    writeMetricColumn(writer, table, column * rowCount, rowCount, METRIC_KEYS[column], METRIC_SCALES[column]);
  }

  const compressed = deflateRawSync(writer.view(), { level: DEFLATE_LEVEL });
  const blob = Buffer.allocUnsafe(1 + compressed.length);
  blob[0] = CHUNK_FORMAT_VERSION_1;
  compressed.copy(blob, 1);
  return blob;
}

/** Throws on an unknown format version or a damaged blob. */
export function decodeChunk(blob: Uint8Array): ChunkRow[] {
  if (blob.length > 0 && blob[0] === CHUNK_FORMAT_VERSION_2) return decodeChunkV2(blob);
  const reader = openChunk(blob);
  return readingPayload(() => {
    const rowCount = readRowCount(reader);
    const timestamps = readTimestamps(reader, rowCount);
    const table = columnScratch(rowCount);
    for (let column = 0; column < METRIC_KEYS.length; column++) {
      if (column >= VERSION_1_COLUMN_COUNT && reader.remaining === 0) {
        // Written before this metric was appended to the catalogue: it was not recorded.
        table.fill(NaN, column * rowCount, METRIC_KEYS.length * rowCount);
        break;
      }
      readMetricColumn(reader, table, column * rowCount, rowCount, METRIC_SCALES[column]);
    }
    if (reader.overran || reader.remaining !== 0) throw corrupt("column data does not match its length");
    return columnsToRows(timestamps, table);
  });
}

/**
 * A chunk's timestamps and the asked metric columns only (catalogue indexes, ascending), the k-th
 * at k * rowCount of `table`, as the scaled integers stored (NaN for null): a chart over hours
 * of samples needs four columns of eighteen and no row objects. `table` is shared scratch,
 * valid until the next encode or decode.
 */
export function decodeChunkColumns(
  blob: Uint8Array,
  metrics: readonly number[],
): { rowCount: number; timestamps: number[]; table: Float64Array } {
  if (blob.length > 0 && blob[0] === CHUNK_FORMAT_VERSION_2) return decodeChunkColumnsV2(blob, metrics);
  const reader = openChunk(blob);
  return readingPayload(() => {
    const rowCount = readRowCount(reader);
    const timestamps = readTimestamps(reader, rowCount);
    const table = columnScratch(rowCount);
    let k = 0;
    for (let column = 0; column < METRIC_KEYS.length && k < metrics.length; column++) {
      // Written before this metric was appended to the catalogue: it was not recorded.
      if (column >= VERSION_1_COLUMN_COUNT && reader.remaining === 0) break;
      if (metrics[k] !== column) {
        skipMetricColumn(reader, rowCount);
        continue;
      }
      readMetricColumn(reader, table, k * rowCount, rowCount, 1);
      k++;
    }
    table.fill(NaN, k * rowCount, metrics.length * rowCount);
    if (reader.overran) throw corrupt("column data does not match its length");
    return { rowCount, timestamps, table };
  });
}

function writeTimestamps(writer: ByteWriter, rows: readonly ChunkRow[]): void {
  let previousTimestamp = 0;
  let previousDelta = 0;
  for (let i = 0; i < rows.length; i++) {
    const timestamp = rows[i].timestamp;
    if (!Number.isInteger(timestamp) || Math.abs(timestamp) > MAX_TIMESTAMP_MAGNITUDE) {
      throw new RangeError(`chunk row ${i}: timestamp ${timestamp} is not an integer epoch-ms value`);
    }
    if (i === 0) {
      writer.writeSigned(timestamp);
    } else {
      const delta = timestamp - previousTimestamp;
      writer.writeSigned(delta - previousDelta);
      previousDelta = delta;
    }
    previousTimestamp = timestamp;
  }
}

function readTimestamps(reader: ByteReader, rowCount: number): number[] {
  const timestamps = new Array<number>(rowCount);
  if (rowCount === 0) return timestamps;
  let timestamp = reader.readSigned();
  timestamps[0] = timestamp;
  let delta = 0;
  for (let i = 1; i < rowCount; i++) {
    delta += reader.readSigned();
    timestamp += delta;
    timestamps[i] = timestamp;
  }
  return timestamps;
}

/** Scales the column in place (the table is scratch), then writes it in the cheapest mode it allows. */
function writeMetricColumn(writer: ByteWriter, table: Float64Array, start: number, rowCount: number, key: MetricKey, scale: number): void {
  const end = start + rowCount;
  const { presentCount, firstValue, allEqual, maxMagnitude } = scaleColumn(table, start, rowCount, key, scale);

  if (presentCount === 0) {
    writer.writeByte(MODE_ALL_NULL);
    return;
  }
  const nullFlag = presentCount < rowCount ? FLAG_HAS_NULLS : 0;
  const mode = allEqual ? MODE_CONSTANT : maxMagnitude <= MAX_DELTA_MODE_MAGNITUDE ? MODE_DELTA : MODE_RAW;
  writer.writeByte(mode | nullFlag);
  if (nullFlag) writePresenceBitmap(writer, table, start, rowCount);

  if (mode === MODE_CONSTANT) {
    writer.writeSigned(firstValue);
  } else if (mode === MODE_DELTA) {
    let previous = 0;
    for (let i = start; i < end; i++) {
      const value = table[i];
      if (value !== value) continue;
      writer.writeSigned(value - previous);
      previous = value;
    }
  } else {
    for (let i = start; i < end; i++) {
      const value = table[i];
      if (value === value) writer.writeSigned(value);
    }
  }
}

function writePresenceBitmap(writer: ByteWriter, table: Float64Array, start: number, rowCount: number): void {
  const bitmap = writer.appendZeros((rowCount + 7) >>> 3);
  for (let row = 0; row < rowCount; row++) {
    const value = table[start + row];
    if (value === value) writer.orByte(bitmap + (row >>> 3), 1 << (row & 7));
  }
}

/** Fills the column with unscaled values, NaN where null. */
function readMetricColumn(reader: ByteReader, table: Float64Array, start: number, rowCount: number, scale: number): void {
  const modeByte = reader.readByte();
  const mode = modeByte & ~FLAG_HAS_NULLS;
  const end = start + rowCount;
  if (modeByte === MODE_ALL_NULL) {
    table.fill(NaN, start, end);
    return;
  }
  if (mode !== MODE_CONSTANT && mode !== MODE_DELTA && mode !== MODE_RAW) {
    throw corrupt(`unknown column mode ${modeByte}`);
  }
  const presence = modeByte & FLAG_HAS_NULLS ? reader.readBytes((rowCount + 7) >>> 3) : null;

  if (mode === MODE_CONSTANT) {
    table.fill(reader.readSigned() / scale, start, end);
  } else if (presence === null) {
    if (mode === MODE_DELTA) {
      let value = 0;
      for (let i = start; i < end; i++) {
        value += reader.readSigned();
        table[i] = value / scale;
      }
    } else {
      for (let i = start; i < end; i++) table[i] = reader.readSigned() / scale;
    }
  } else {
    let value = 0;
    for (let row = 0; row < rowCount; row++) {
      if ((presence[row >>> 3] & (1 << (row & 7))) === 0) continue;
      value = mode === MODE_DELTA ? value + reader.readSigned() : reader.readSigned();
      table[start + row] = value / scale;
    }
  }

  if (presence !== null) {
    for (let row = 0; row < rowCount; row++) {
      if ((presence[row >>> 3] & (1 << (row & 7))) === 0) table[start + row] = NaN;
    }
  }
}

function skipMetricColumn(reader: ByteReader, rowCount: number): void {
  const modeByte = reader.readByte();
  if (modeByte === MODE_ALL_NULL) return;
  const mode = modeByte & ~FLAG_HAS_NULLS;
  if (mode !== MODE_CONSTANT && mode !== MODE_DELTA && mode !== MODE_RAW) throw corrupt(`unknown column mode ${modeByte}`);
  let present = rowCount;
  if (modeByte & FLAG_HAS_NULLS) {
    present = 0;
    for (const byte of reader.readBytes((rowCount + 7) >>> 3)) for (let bits = byte; bits !== 0; bits &= bits - 1) present++;
  }
  reader.skipVarints(mode === MODE_CONSTANT ? 1 : present);
}

function openChunk(blob: Uint8Array): ByteReader {
  if (blob.length === 0) throw corrupt("empty blob");
  const version = blob[0];
  if (version !== CHUNK_FORMAT_VERSION_1) {
    throw new Error(`unsupported chunk format version ${version} (this build reads versions 1 and ${CHUNK_FORMAT_VERSION_2})`);
  }
  let payload: Buffer;
  try {
    payload = inflateRawSync(blob.subarray(1));
  } catch (error) {
    throw corrupt(`cannot inflate: ${error instanceof Error ? error.message : String(error)}`);
  }
  return new ByteReader(payload);
}

function readRowCount(reader: ByteReader): number {
  const rowCount = reader.readUnsigned();
  if (reader.overran || rowCount > MAX_ROWS_PER_CHUNK) throw corrupt(`implausible row count ${rowCount}`);
  return rowCount;
}

/** Raw deflate carries no checksum, so damage can inflate "fine" and surface only as bad varints. */
function readingPayload<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ChunkCorruptError) throw error;
    throw corrupt(error instanceof Error ? error.message : String(error));
  }
}

function corrupt(reason: string): ChunkCorruptError {
  return new ChunkCorruptError(`corrupt chunk blob: ${reason}`);
}
