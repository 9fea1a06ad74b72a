import { METRIC_KEYS } from "../../telemetry/types";
import type { ChunkRow } from "./chunk-columns";
import {
  addRow,
  addEntries,
  addSummary,
  emptySummary,
  mergeEncodedSummary,
  SUMMARIZED_REASONS,
  SUMMARY_ENTRIES,
  SUMMARY_FIELDS,
  type MetricSummary,
} from "./metric-summary";
import { MINUTE_MS, slotStart, SUMMARY_PERIOD_MS } from "./time-slots";
import { ByteReader, ByteWriter } from "./varint";

/**
 * Summaries of consecutive periods, each count/min/max/sum of every metric and clock event
 * reason over the period (metric-summary.ts): summary format version 2 (docs/storage-format.md).
 * A sealed chunk keeps one per two minutes of wall-clock time it holds samples in
 * (SUMMARY_PERIOD_MS), so a chart of a day or two buckets by whole periods and adds these up
 * instead of decoding some 86,000 samples per GPU and day; hourly and daily rollups are one
 * period each. Each entry's section
 * carries its length, so a reader skips what it was not asked for. Version 1 (one summary of
 * the metrics alone) is still read, from chunks and rollups written before.
 */
export const PERIOD_SUMMARY_FORMAT_VERSION = 2;

export interface PeriodSummary {
  /** Epoch ms of the period's start, a whole minute. */
  start: number;
  rowCount: number;
  summary: MetricSummary;
}

const METRICS = METRIC_KEYS.length;
const REASONS = SUMMARIZED_REASONS.length;
const FIELDS = SUMMARY_FIELDS;

// Each entry's section starts with a mode byte: no values in any period; one value in every
// period that has any (min = max = it, sum = it x count); differences from the period before
// (every figure an integer within 2^52, so the differences stay exact); min and max as they are
// with the sum as a float64 (only a summed bitmask gets that large); or the same bytes as an
// earlier section (SM and graphics clocks mostly move together).
const MODE_NONE = 0;
const MODE_CONSTANT = 1;
const MODE_DELTA = 2;
const MODE_RAW = 3;
const MODE_SAME_AS = 4;
/** Or-ed into the mode when the entry's count per period follows (it differs from the period's row count somewhere). */
const FLAG_COUNTS = 0x80;
const DELTA_SAFE_MAGNITUDE = 2 ** 52;

/** `rows` summarized per SUMMARY_PERIOD_MS, oldest period first. */
export function summarizePeriods(rows: readonly ChunkRow[]): PeriodSummary[] {
  const byStart = new Map<number, PeriodSummary>();
  let period: PeriodSummary | undefined;
  for (const row of rows) {
    const start = slotStart(row.timestamp, SUMMARY_PERIOD_MS);
    // Rows come nearly in time order: most belong to the period of the row before.
    if (period?.start !== start) {
      period = byStart.get(start);
      if (!period) byStart.set(start, (period = { start, rowCount: 0, summary: emptySummary() }));
    }
    period.rowCount++;
    addRow(period.summary, row);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** What a chunk is sealed with: its periods, stored beside it, and their total, added to its hour and day. */
export function summarizeChunk(rows: readonly ChunkRow[]): { periods: Buffer; total: MetricSummary } {
  const periods = summarizePeriods(rows);
  const total = emptySummary();
  for (const period of periods) addSummary(total, period.summary);
  return { periods: encodePeriods(periods), total };
}

const sectionWriter = new ByteWriter(1024);

/**
 * Layout: the version byte; the period count; per period its start (epoch minutes, as a
 * difference from the one before) and row count; the metric count, then per metric in
 * catalogue order the byte length of its section and the section; the reason count, then the
 * same per reason in SUMMARIZED_REASONS order.
 */
export function encodePeriods(periods: readonly PeriodSummary[]): Buffer {
  const out = new ByteWriter(512);
  out.writeByte(PERIOD_SUMMARY_FORMAT_VERSION);
  out.writeUnsigned(periods.length);
  let previousIndex = 0;
  for (const period of periods) {
    const index = period.start / MINUTE_MS;
    out.writeSigned(index - previousIndex);
    previousIndex = index;
    out.writeUnsigned(period.rowCount);
  }
  const sections: Buffer[] = [];
  for (let entry = 0; entry < SUMMARY_ENTRIES; entry++) {
    if (entry === 0) out.writeUnsigned(METRICS);
    if (entry === METRICS) out.writeUnsigned(REASONS);
    sectionWriter.reset();
    writeMetricSection(sectionWriter, periods, entry * FIELDS);
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

function writeMetricSection(out: ByteWriter, periods: readonly PeriodSummary[], at: number): void {
  let present = 0;
  let countsDiffer = false;
  let constant = true;
  let deltaSafe = true;
  let first = 0;
  for (const { rowCount, summary } of periods) {
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
  if (countsDiffer) for (const { summary } of periods) out.writeUnsigned(summary[at]);
  if (mode === MODE_CONSTANT) {
    out.writeSigned(first);
    return;
  }
  // Periods whose values were all equal (min = max, so sum = min x count) store their min only.
  const withValues = periods.filter(({ summary }) => summary[at] > 0);
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
 * Reads the periods of a version 2 summary, `entries` (summary entries: metric indexes, then
 * METRIC_KEYS.length + reason index; ascending) only, and hands each period to `visit` with
 * `stats[at..]` holding count/min/max/sum of the k-th asked entry at at + 4k (count 0, min
 * Infinity, max -Infinity when it had no value, or was not stored: written before it was
 * appended). `stats` is scratch, valid during the call. Returns false, visiting nothing, for a
 * version 1 summary, which has no periods.
 */
export function visitPeriods(
  blob: Uint8Array,
  entries: readonly number[],
  visit: (start: number, rowCount: number, stats: Float64Array, at: number) => void,
): boolean {
  if (blob[0] !== PERIOD_SUMMARY_FORMAT_VERSION) return false;
  const input = new ByteReader(blob);
  input.skip(1);
  const periodCount = input.readUnsigned();
  if (input.overran || periodCount > blob.length) throw corrupt();
  if (starts.length < periodCount) [starts, rowCounts] = [new Float64Array(periodCount), new Float64Array(periodCount)];
  let index = 0;
  for (let i = 0; i < periodCount; i++) {
    index += input.readSigned();
    starts[i] = index * MINUTE_MS;
    rowCounts[i] = input.readUnsigned();
  }
  const stride = entries.length * FIELDS;
  const used = periodCount * stride;
  if (scratch.length < used) scratch = new Float64Array(used);
  const table = scratch;
  for (let at = 0; at < used; at += FIELDS) {
    table[at] = 0;
    table[at + 1] = Infinity;
    table[at + 2] = -Infinity;
    table[at + 3] = 0;
  }
  const into: PeriodTable = { rowCounts, periods: periodCount, table, stride };
  const sectionStarts: number[] = [];
  let k = 0;
  // Two runs of sections, metrics then reasons, each led by how many it holds.
  for (const [first, known] of [
    [0, METRICS],
    [METRICS, REASONS],
  ]) {
    const stored = input.readUnsigned();
    for (let i = 0; i < stored; i++) {
      const length = input.readUnsigned();
      const start = input.position;
      sectionStarts.push(start);
      input.position = start + length;
      if (input.overran) throw corrupt();
      // A section of an entry this build does not know (appended by a later one) is skipped.
      if (i >= known || entries[k] !== first + i) continue;
      readSection(input, blob, sectionStarts, start, into, k * FIELDS);
      input.position = start + length;
      k++;
    }
    while (k < entries.length && entries[k] < first + known) k++;
  }
  if (input.overran || input.remaining !== 0) throw corrupt();
  for (let i = 0; i < periodCount; i++) visit(starts[i], rowCounts[i], table, i * stride);
  return true;
}

/** What sections are read into: per period its row count, then count/min/max/sum of each asked entry, `stride` values a period. */
interface PeriodTable {
  rowCounts: Float64Array;
  periods: number;
  table: Float64Array;
  stride: number;
}

/** Reads the section at `start`, or the earlier one it names as its copy, into the entry at `at` of each period. */
function readSection(
  input: ByteReader,
  blob: Uint8Array,
  sectionStarts: readonly number[],
  start: number,
  into: PeriodTable,
  at: number,
): void {
  input.position = start;
  if (blob[start] === MODE_SAME_AS) {
    input.skip(1);
    const same = input.readUnsigned();
    if (!(same < sectionStarts.length - 1) || blob[sectionStarts[same]] === MODE_SAME_AS) throw corrupt();
    input.position = sectionStarts[same];
  }
  readMetricSection(input, into, at);
}

/** Fills each period's count/min/max/sum of one entry at `at`, period i's at `at + i * stride`. */
function readMetricSection(input: ByteReader, { rowCounts, periods, table, stride }: PeriodTable, at: number): void {
  const modeByte = input.readByte();
  const mode = modeByte & ~FLAG_COUNTS;
  const end = at + periods * stride;
  if (mode === MODE_NONE) return;
  for (let i = 0, to = at; i < periods; i++, to += stride) table[to] = modeByte & FLAG_COUNTS ? input.readUnsigned() : rowCounts[i];
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

const EVERY_ENTRY = Array.from({ length: SUMMARY_ENTRIES }, (_, entry) => entry);

/** Adds a stored summary of either version into `into`: all of a version 2 summary's periods. */
export function mergeStoredSummary(into: MetricSummary, blob: Uint8Array): void {
  const merged = visitPeriods(blob, EVERY_ENTRY, (_start, _rowCount, stats, from) => addEntries(into, 0, stats, from, SUMMARY_ENTRIES));
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
  return new Error("corrupt period summary");
}
