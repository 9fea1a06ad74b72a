import { METRIC_KEYS } from "../../telemetry/types";
import type { ChunkRow } from "./chunk-columns";
import { addRow, addSummary, emptySummary, mergeEncodedSummary, SUMMARY_FIELDS, type MetricSummary } from "./metric-summary";
import { MINUTE_MS, slotStart } from "./time-slots";
import { ByteReader, ByteWriter } from "./varint";

/**
 * A sealed chunk's summary minute by minute: count/min/max/sum of every metric over each
 * minute of wall-clock time the chunk holds samples in. A chart of a day or two buckets by
 * whole minutes and reads these instead of decoding some 86,000 samples per GPU and day;
 * statistics and the hourly rollups add up all of a chunk's minutes. This is format version 2
 * of a stored summary (docs/storage-format.md); version 1, one summary for the whole chunk,
 * is still read, and hourly and daily rollups are still written in it.
 */
export const MINUTE_SUMMARY_FORMAT_VERSION = 2;

export interface MinuteSummary {
  /** Epoch ms of the minute's start. */
  start: number;
  rowCount: number;
  summary: MetricSummary;
}

const METRICS = METRIC_KEYS.length;
const FIELDS = SUMMARY_FIELDS;

// Each metric's section starts with a mode byte: no values in any minute; one value in every
// minute that has any (min = max = it, sum = it x count); differences from the minute before
// (every figure an integer within 2^52, so the differences stay exact); min and max as they are
// with the sum as a float64 (only a summed bitmask gets that large); or the same bytes as an
// earlier metric's section (SM and graphics clocks mostly move together).
const MODE_NONE = 0;
const MODE_CONSTANT = 1;
const MODE_DELTA = 2;
const MODE_RAW = 3;
const MODE_SAME_AS = 4;
/** Or-ed into the mode when the metric's count per minute follows (it differs from the minute's row count somewhere). */
const FLAG_COUNTS = 0x80;
const DELTA_SAFE_MAGNITUDE = 2 ** 52;

/** `rows` summarized per minute, oldest minute first. */
export function summarizeMinutes(rows: readonly ChunkRow[]): MinuteSummary[] {
  const byStart = new Map<number, MinuteSummary>();
  for (const row of rows) {
    const start = slotStart(row.timestamp, MINUTE_MS);
    let minute = byStart.get(start);
    if (!minute) byStart.set(start, (minute = { start, rowCount: 0, summary: emptySummary() }));
    minute.rowCount++;
    addRow(minute.summary, row);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** What a chunk is sealed with: its minutes, stored beside it, and their total, added to its hour and day. */
export function summarizeChunk(rows: readonly ChunkRow[]): { minutes: Buffer; total: MetricSummary } {
  const minutes = summarizeMinutes(rows);
  const total = emptySummary();
  for (const minute of minutes) addSummary(total, minute.summary);
  return { minutes: encodeMinutes(minutes), total };
}

const sectionWriter = new ByteWriter(1024);

/**
 * Layout: the version byte; the minute count; per minute its index (epoch minutes, as a
 * difference from the one before) and row count; then per metric in catalogue order the byte
 * length of its section and the section, so a reader skips the metrics it was not asked for.
 */
export function encodeMinutes(minutes: readonly MinuteSummary[]): Buffer {
  const out = new ByteWriter(512);
  out.writeByte(MINUTE_SUMMARY_FORMAT_VERSION);
  out.writeUnsigned(minutes.length);
  let previousIndex = 0;
  for (const minute of minutes) {
    const index = minute.start / MINUTE_MS;
    out.writeSigned(index - previousIndex);
    previousIndex = index;
    out.writeUnsigned(minute.rowCount);
  }
  const sections: Buffer[] = [];
  for (let at = 0; at < METRICS * FIELDS; at += FIELDS) {
    sectionWriter.reset();
    writeMetricSection(sectionWriter, minutes, at);
    const section = Buffer.from(sectionWriter.view());
    const same = section.length > 2 ? sections.findIndex((earlier) => earlier.equals(section)) : -1;
    sections.push(section);
    if (same >= 0) {
      sectionWriter.reset();
      sectionWriter.writeByte(MODE_SAME_AS);
      sectionWriter.writeUnsigned(same);
    }
    out.writeUnsigned(sectionWriter.view().length);
    out.writeBytes(sectionWriter.view());
  }
  return Buffer.from(out.view());
}

function writeMetricSection(out: ByteWriter, minutes: readonly MinuteSummary[], at: number): void {
  let present = 0;
  let countsDiffer = false;
  let constant = true;
  let deltaSafe = true;
  let first = 0;
  for (const { rowCount, summary } of minutes) {
    const count = summary[at];
    if (count !== rowCount) countsDiffer = true;
    if (count === 0) continue;
    const [min, max, sum] = [summary[at + 1], summary[at + 2], summary[at + 3]];
    if (present++ === 0) first = min;
    if (min !== first || max !== first) constant = false;
    if (!(Math.abs(min) <= DELTA_SAFE_MAGNITUDE && Math.abs(max) <= DELTA_SAFE_MAGNITUDE && Number.isSafeInteger(sum))) deltaSafe = false;
  }
  if (present === 0) {
    out.writeByte(MODE_NONE);
    return;
  }
  // A sum that stayed a safe integer was added up exactly, so it equals the value times the count.
  const mode = constant && deltaSafe ? MODE_CONSTANT : deltaSafe ? MODE_DELTA : MODE_RAW;
  out.writeByte(mode | (countsDiffer ? FLAG_COUNTS : 0));
  if (countsDiffer) for (const { summary } of minutes) out.writeUnsigned(summary[at]);
  if (mode === MODE_CONSTANT) {
    out.writeSigned(first);
    return;
  }
  // Minutes whose values were all equal (min = max, so sum = min x count) store their min only.
  const withValues = minutes.filter(({ summary }) => summary[at] > 0);
  if (mode === MODE_DELTA) {
    const flat = out.appendZeros((withValues.length + 7) >>> 3);
    withValues.forEach(({ summary }, i) => {
      if (summary[at + 1] === summary[at + 2]) out.orByte(flat + (i >>> 3), 1 << (i & 7));
    });
  }
  let [previousMin, previousMax, previousSum] = [0, 0, 0];
  for (const { summary } of withValues) {
    const [min, max, sum] = [summary[at + 1], summary[at + 2], summary[at + 3]];
    if (mode === MODE_DELTA) {
      out.writeSigned(min - previousMin);
      if (min !== max) {
        out.writeSigned(max - previousMax);
        out.writeSigned(sum - previousSum);
      }
      [previousMin, previousMax, previousSum] = [min, max, sum];
    } else {
      out.writeSigned(min);
      out.writeSigned(max);
      writeFloat64(out, sum);
    }
  }
}

/** Reused between calls (reading is synchronous): a long chart reads thousands of summaries. */
let starts = new Float64Array(64);
let rowCounts = new Float64Array(64);
let scratch = new Float64Array(64 * FIELDS);

/**
 * Reads the minutes of a version 2 summary, `metrics` (indexes into METRIC_KEYS, ascending) only,
 * and hands each minute to `visit` with `stats[at..]` holding count/min/max/sum of the k-th asked
 * metric at at + 4k (count 0, min Infinity, max -Infinity when it had no value). `stats` is
 * scratch, valid during the call. Returns false, visiting nothing, for a version 1 summary,
 * which has no minutes.
 */
export function visitMinutes(
  blob: Uint8Array,
  metrics: readonly number[],
  visit: (start: number, rowCount: number, stats: Float64Array, at: number) => void,
): boolean {
  if (blob[0] !== MINUTE_SUMMARY_FORMAT_VERSION) return false;
  const input = new ByteReader(blob);
  input.skip(1);
  const minuteCount = input.readUnsigned();
  if (input.overran || minuteCount > blob.length) throw corrupt();
  if (starts.length < minuteCount) [starts, rowCounts] = [new Float64Array(minuteCount), new Float64Array(minuteCount)];
  let index = 0;
  for (let i = 0; i < minuteCount; i++) {
    index += input.readSigned();
    starts[i] = index * MINUTE_MS;
    rowCounts[i] = input.readUnsigned();
  }
  const stride = metrics.length * FIELDS;
  const used = minuteCount * stride;
  if (scratch.length < used) scratch = new Float64Array(used);
  const table = scratch;
  for (let at = 0; at < used; at += FIELDS) {
    table[at] = 0;
    table[at + 1] = Infinity;
    table[at + 2] = -Infinity;
    table[at + 3] = 0;
  }
  const sectionStarts: number[] = [];
  let k = 0;
  for (let m = 0; m < METRICS && k < metrics.length; m++) {
    // Written before the metrics from here on were appended to the catalogue: none of them counted.
    if (input.remaining === 0) break;
    const length = input.readUnsigned();
    const end = input.position + length;
    sectionStarts.push(input.position);
    if (metrics[k] !== m) {
      input.skip(length);
      continue;
    }
    if (blob[input.position] === MODE_SAME_AS) {
      input.skip(1);
      const same = input.readUnsigned();
      if (!(same < m) || blob[sectionStarts[same]] === MODE_SAME_AS) throw corrupt();
      input.position = sectionStarts[same];
    }
    readMetricSection(input, rowCounts, minuteCount, table, k * FIELDS, stride);
    if (input.position !== end && blob[sectionStarts[m]] !== MODE_SAME_AS) throw corrupt();
    input.position = end;
    k++;
  }
  if (input.overran) throw corrupt();
  for (let i = 0; i < minuteCount; i++) visit(starts[i], rowCounts[i], table, i * stride);
  return true;
}

/** Fills each minute's count/min/max/sum of one metric at `at`, minute i's at `at + i * stride`. */
function readMetricSection(
  input: ByteReader,
  rowCounts: Float64Array,
  minutes: number,
  table: Float64Array,
  at: number,
  stride: number,
): void {
  const modeByte = input.readByte();
  const mode = modeByte & ~FLAG_COUNTS;
  const end = at + minutes * stride;
  if (mode === MODE_NONE) return;
  for (let i = 0, to = at; i < minutes; i++, to += stride) table[to] = modeByte & FLAG_COUNTS ? input.readUnsigned() : rowCounts[i];
  if (mode === MODE_CONSTANT) {
    const value = input.readSigned();
    for (let to = at; to < end; to += stride) {
      if (table[to] === 0) continue;
      table[to + 1] = table[to + 2] = value;
      table[to + 3] = value * table[to];
    }
    return;
  }
  if (mode !== MODE_DELTA && mode !== MODE_RAW) throw corrupt();
  let withValues = 0;
  for (let to = at; to < end; to += stride) if (table[to] > 0) withValues++;
  const flat = mode === MODE_DELTA ? input.readBytes((withValues + 7) >>> 3) : null;
  let min = 0;
  let max = 0;
  let sum = 0;
  for (let to = at, i = 0; to < end; to += stride) {
    if (table[to] === 0) continue;
    if (flat !== null) {
      min += input.readSigned();
      if ((flat[i >>> 3] & (1 << (i & 7))) !== 0) {
        max = min;
        sum = min * table[to];
      } else {
        max += input.readSigned();
        sum += input.readSigned();
      }
      i++;
    } else {
      min = input.readSigned();
      max = input.readSigned();
      sum = readFloat64(input);
    }
    table[to + 1] = min;
    table[to + 2] = max;
    table[to + 3] = sum;
  }
}

const EVERY_METRIC = METRIC_KEYS.map((_, m) => m);

/** Adds a stored summary of either version into `into`: all of a version 2 summary's minutes. */
export function mergeStoredSummary(into: MetricSummary, blob: Uint8Array): void {
  const merged = visitMinutes(blob, EVERY_METRIC, (_start, _rowCount, stats, from) => {
    for (let at = 0; at < METRICS * FIELDS; at += FIELDS) {
      into[at] += stats[from + at];
      if (stats[from + at + 1] < into[at + 1]) into[at + 1] = stats[from + at + 1];
      if (stats[from + at + 2] > into[at + 2]) into[at + 2] = stats[from + at + 2];
      into[at + 3] += stats[from + at + 3];
    }
  });
  if (!merged) mergeEncodedSummary(into, blob);
}

const float64 = new DataView(new ArrayBuffer(8));

function writeFloat64(out: ByteWriter, value: number): void {
  float64.setFloat64(0, value, true);
  for (let i = 0; i < 8; i++) out.writeByte(float64.getUint8(i));
}

function readFloat64(input: ByteReader): number {
  const bytes = input.readBytes(8);
  for (let i = 0; i < 8; i++) float64.setUint8(i, bytes[i] | 0);
  return float64.getFloat64(0, true);
}

function corrupt(): Error {
  return new Error("corrupt minute summary");
}
