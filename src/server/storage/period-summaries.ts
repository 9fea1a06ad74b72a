import { METRIC_KEYS } from "../../telemetry/types";
import type { ChunkRow } from "./chunk-columns";
import {
  addReasons,
  addEntries,
  addSummary,
  emptySummary,
  mergeEncodedSummary,
  SUMMARIZED_REASONS,
  SUMMARY_ENTRIES,
  SUMMARY_FIELDS,
  SUMMARY_FORMAT_VERSION,
  type MetricSummary,
} from "./metric-summary";
import { MINUTE_MS, slotStart, SUMMARY_PERIOD_MS } from "./time-slots";
import { BitWriter, MAX_PACKED_BITS, RUN_WIDTH_BITS } from "./bit-packing";
import { ByteReader, ByteWriter } from "./varint";
import { compileFunction, perMetric } from "../per-metric-code";
import { CLOCK_EVENT_REASON_BITS } from "../../telemetry/clock-event-reasons";

/**
 * Summaries of consecutive periods, each count/min/max/sum of every metric and clock event
 * reason over the period (metric-summary.ts): summary format version 3 (docs/storage-format.md).
 * A sealed chunk keeps one per two minutes of wall-clock time it holds samples in
 * (SUMMARY_PERIOD_MS), so a chart of a day or two buckets by whole periods and adds these up
 * instead of decoding some 86,000 samples per GPU and day; hourly and daily rollups are one
 * period each. Each entry's section
 * is a run of bit-packed values whose widths it opens with, so a reader skips what it was not
 * asked for. Version 2 (the same periods in byte-aligned varints) and version 1 (one summary of
 * the metrics alone) are still read, from chunks and rollups written before.
 */
export const PERIOD_SUMMARY_FORMAT_VERSION = 3;
/** Periods in varint sections, each led by its byte length: written until version 3. */
export const BYTE_PERIOD_SUMMARY_FORMAT_VERSION = 2;

export interface PeriodSummary {
  /** Epoch ms of the period's start, a whole minute. */
  start: number;
  rowCount: number;
  summary: MetricSummary;
}

const METRICS = METRIC_KEYS.length;
const REASONS = SUMMARIZED_REASONS.length;
const FIELDS = SUMMARY_FIELDS;

// Version 2 (read only). Each entry's section starts with a mode byte: no values in any period; one value in every
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
    addRowToPeriod(period.summary, row);
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/**
 * metric-summary.ts's addRow with each metric's property and scale written out (per-metric-code.ts):
 * it runs for every sample sealed, and `row[key]` with a varying key is several times slower.
 */
const addRowToPeriod = compileFunction<(summary: MetricSummary, row: ChunkRow) => void>(
  "addRowToPeriod",
  ["summary", "row"],
  `let value;
let scaled;
${perMetric((metric, column) => {
  const at = column * FIELDS;
  return `value = row.${metric.key};
if (value !== null) {
  scaled = Math.round(value * ${10 ** metric.decimals});
  summary[${at}]++;
  if (scaled < summary[${at + 1}]) summary[${at + 1}] = scaled;
  if (scaled > summary[${at + 2}]) summary[${at + 2}] = scaled;
  summary[${at + 3}] += scaled;
}`;
})}
const mask = row.clockEventReasons;
if (mask === null) return;
// A mask wider than the 31 bits bitwise operators keep whole is left to addReasons, which tests it by division.
if (!(mask >= 0 && mask <= 0x7fffffff)) {
  addReasons(summary, ${METRICS * FIELDS}, mask);
  return;
}
${SUMMARIZED_REASONS.map((reason, r) => {
  const at = (METRICS + r) * FIELDS;
  return `value = (mask & ${CLOCK_EVENT_REASON_BITS[reason]}) === 0 ? 0 : 1;
summary[${at}]++;
if (value < summary[${at + 1}]) summary[${at + 1}] = value;
if (value > summary[${at + 2}]) summary[${at + 2}] = value;
summary[${at + 3}] += value;`;
}).join("\n")}`,
  { addReasons },
);

/** What a chunk is sealed with: its periods, stored beside it, and their total, added to its hour and day. */
export function summarizeChunk(rows: readonly ChunkRow[]): { periods: Buffer; total: MetricSummary } {
  const periods = summarizePeriods(rows);
  const total = emptySummary();
  for (const period of periods) addSummary(total, period.summary);
  return { periods: encodePeriods(periods), total };
}

// Version 3. Each entry's section opens with a 3-bit mode and a bit saying whether the entry's
// count per period follows as a run (it differs from the period's row count somewhere); then
// runs of packed values (bit-packing.ts), signed ones zigzagged:
// - none: no values in any period;
// - constant: one value in every period that has any (min = max = it, sum = it x count): the value;
// - deltas: the first min; each later min as a difference from the one before; max - min of
//   every period; and for each period whose max exceeds its min, the sum less what the period
//   before predicts for it (its mean times this count, kept within what min and max allow);
// - zero-one: every value 0 or 1 (a clock event reason): the sums alone, or count - sum when
//   most are full (a bit says which); min and max follow from them;
// - raw: min, max and sum as float64 (only a summed bitmask outgrows the exact forms);
// - same as: an earlier section's number (SM and graphics clocks mostly move together);
// - zeros: every value 0 (most clock event reasons, most of the time): nothing more.
const PACKED_NONE = 0;
const PACKED_CONSTANT = 1;
const PACKED_DELTAS = 2;
const PACKED_ZERO_ONE = 3;
const PACKED_RAW = 4;
const PACKED_SAME_AS = 5;
const PACKED_ZEROS = 6;
const MODE_WIDTH = 3;
/** Mins, maxes, differences and leftovers of the deltas mode stay within this, so their zigzags fit 52 bits. */
const PACKED_SAFE_MAGNITUDE = 2 ** 50;

const header = new ByteWriter(64);
const bits = new BitWriter();
/** Scratch for one run's values; grown when a summary has more periods. */
let runValues = new Float64Array(64);

/**
 * Layout: the version byte; as varints the period count, the first period's start in epoch
 * minutes (signed), and how many metric and reason sections follow; then a bit stream: a run of the
 * later periods' starts as zigzagged differences in minutes from the one before, a run of
 * the row counts, and the section of each metric in catalogue order, then of each reason in
 * SUMMARIZED_REASONS order.
 */
export function encodePeriods(periods: readonly PeriodSummary[]): Buffer {
  header.reset();
  header.writeByte(PERIOD_SUMMARY_FORMAT_VERSION);
  header.writeUnsigned(periods.length);
  header.writeSigned(periods.length > 0 ? periods[0].start / MINUTE_MS : 0);
  header.writeUnsigned(METRICS);
  header.writeUnsigned(REASONS);
  bits.reset();
  const values = runOf(periods.length);
  for (let i = 1; i < periods.length; i++) values[i - 1] = zigzag((periods[i].start - periods[i - 1].start) / MINUTE_MS);
  bits.writeRun(values, Math.max(0, periods.length - 1));
  for (let i = 0; i < periods.length; i++) values[i] = periods[i].rowCount;
  bits.writeRun(values, periods.length);
  for (let entry = 0; entry < SUMMARY_ENTRIES; entry++) writePackedSection(periods, entry);
  return Buffer.concat([header.view(), bits.view()]);
}

function runOf(length: number): Float64Array {
  if (runValues.length < length) runValues = new Float64Array(length * 2);
  return runValues;
}

const zigzag = (value: number) => (value < 0 ? -2 * value - 1 : 2 * value);
/** Bitwise below 2^31 (most values): `%` of a double read from a typed array is a call to fmod. */
const unzigzag = (value: number) => (value <= 0x7fffffff ? (value >>> 1) ^ -(value & 1) : value % 2 === 1 ? -(value + 1) / 2 : value / 2);

/** What the period before predicts for a period's sum: its mean times this count, within what min and max allow. */
function predictedSum(count: number, min: number, max: number, previousSum: number, previousCount: number): number {
  // At least one value is the min and one the max; the rest lie between.
  const lowest = count * min + (max - min);
  const highest = count * max - (max - min);
  const guess = previousCount === 0 ? Math.round((count * (min + max)) / 2) : Math.round((previousSum / previousCount) * count);
  return Math.min(highest, Math.max(lowest, guess));
}

/** The mode an entry's periods fit: the most compact exact one. */
function packedMode(periods: readonly PeriodSummary[], at: number): number {
  let present = 0;
  let constant = true;
  let zeroOne = true;
  let deltasExact = true;
  let first = 0;
  let previousSum = 0;
  let previousCount = 0;
  for (const { summary } of periods) {
    const [count, min, max, sum] = [summary[at], summary[at + 1], summary[at + 2], summary[at + 3]];
    if (count === 0) continue;
    if (present++ === 0) first = min;
    if (min !== first || max !== first || sum !== min * count) constant = false;
    if (min !== (sum === count ? 1 : 0) || max !== (sum > 0 ? 1 : 0) || !(Number.isInteger(sum) && sum >= 0 && sum <= count))
      zeroOne = false;
    if (!(Math.abs(min) <= PACKED_SAFE_MAGNITUDE && Math.abs(max) <= PACKED_SAFE_MAGNITUDE && Number.isSafeInteger(sum)))
      deltasExact = false;
    if (deltasExact && min !== max) {
      // The reader adds the leftover to the same prediction: the sum must come back exactly.
      const predicted = predictedSum(count, min, max, previousSum, previousCount);
      const leftover = sum - predicted;
      if (!Number.isSafeInteger(predicted) || Math.abs(leftover) > PACKED_SAFE_MAGNITUDE || predicted + leftover !== sum)
        deltasExact = false;
    }
    [previousSum, previousCount] = [sum, count];
  }
  if (present === 0) return PACKED_NONE;
  if (constant && first === 0) return PACKED_ZEROS;
  if (constant && Math.abs(first) <= PACKED_SAFE_MAGNITUDE) return PACKED_CONSTANT;
  if (zeroOne) return PACKED_ZERO_ONE;
  return deltasExact ? PACKED_DELTAS : PACKED_RAW;
}

/** True when entry `earlier` holds exactly what entry `entry` does in every period. */
function sameEntries(periods: readonly PeriodSummary[], earlier: number, entry: number): boolean {
  for (const { summary } of periods) {
    for (let field = 0; field < FIELDS; field++) if (summary[earlier * FIELDS + field] !== summary[entry * FIELDS + field]) return false;
  }
  return true;
}

function writePackedSection(periods: readonly PeriodSummary[], entry: number): void {
  const at = entry * FIELDS;
  const mode = packedMode(periods, at);
  if (mode === PACKED_DELTAS || mode === PACKED_ZERO_ONE || mode === PACKED_RAW) {
    for (let earlier = 0; earlier < entry; earlier++) {
      if (!sameEntries(periods, earlier, entry)) continue;
      bits.write(PACKED_SAME_AS, MODE_WIDTH);
      bits.write(0, 1);
      const values = runOf(1);
      values[0] = earlier;
      bits.writeRun(values, 1);
      return;
    }
  }
  bits.write(mode, MODE_WIDTH);
  if (mode === PACKED_NONE) {
    bits.write(0, 1);
    return;
  }
  const countsDiffer = periods.some(({ rowCount, summary }) => summary[at] !== rowCount);
  bits.write(countsDiffer ? 1 : 0, 1);
  const values = runOf(periods.length);
  if (countsDiffer) {
    periods.forEach(({ summary }, i) => (values[i] = summary[at]));
    bits.writeRun(values, periods.length);
  }
  const withValues = periods.filter(({ summary }) => summary[at] > 0);
  if (mode === PACKED_ZEROS) return;
  if (mode === PACKED_CONSTANT) {
    values[0] = zigzag(withValues[0].summary[at + 1]);
    bits.writeRun(values, 1);
  } else if (mode === PACKED_ZERO_ONE) {
    let set = 0;
    let counted = 0;
    for (const { summary } of withValues) [set, counted] = [set + summary[at + 3], counted + summary[at]];
    const complement = set * 2 > counted;
    bits.write(complement ? 1 : 0, 1);
    withValues.forEach(({ summary }, i) => (values[i] = complement ? summary[at] - summary[at + 3] : summary[at + 3]));
    bits.writeRun(values, withValues.length);
  } else if (mode === PACKED_RAW) {
    for (const { summary } of withValues) for (let field = 1; field < FIELDS; field++) writeFloat64Bits(summary[at + field]);
  } else {
    values[0] = zigzag(withValues[0].summary[at + 1]);
    bits.writeRun(values, 1);
    for (let i = 1; i < withValues.length; i++) values[i - 1] = zigzag(withValues[i].summary[at + 1] - withValues[i - 1].summary[at + 1]);
    bits.writeRun(values, withValues.length - 1);
    // A period's spread is much like the one before's: their differences pack narrower.
    const spreadOf = (i: number) => withValues[i].summary[at + 2] - withValues[i].summary[at + 1];
    values[0] = spreadOf(0);
    bits.writeRun(values, 1);
    for (let i = 1; i < withValues.length; i++) values[i - 1] = zigzag(spreadOf(i) - spreadOf(i - 1));
    bits.writeRun(values, withValues.length - 1);
    let spread = 0;
    let [previousSum, previousCount] = [0, 0];
    for (const { summary } of withValues) {
      const [count, min, max, sum] = [summary[at], summary[at + 1], summary[at + 2], summary[at + 3]];
      if (min !== max) values[spread++] = zigzag(sum - predictedSum(count, min, max, previousSum, previousCount));
      [previousSum, previousCount] = [sum, count];
    }
    bits.writeRun(values, spread);
  }
}

function writeFloat64Bits(value: number): void {
  float64.setFloat64(0, value, true);
  bits.write(float64.getUint32(0, true), 32);
  bits.write(float64.getUint32(4, true), 32);
}

/**
 * The periods of one summary as readPeriods leaves them, in typed arrays kept from one summary
 * to the next: a 90-day chart of eight GPUs reads 17,280 hourly rollups, and an object, closure
 * or array made for each of them would cost as much as reading it.
 */
export class DecodedPeriods {
  /** How many periods the summary held. */
  count = 0;
  /** Values per period in `stats`: count/min/max/sum of each asked entry. */
  stride = 0;
  /** Epoch ms of each period's start. */
  starts = new Float64Array(64);
  rowCounts = new Float64Array(64);
  /**
   * Period i's count/min/max/sum of the k-th asked entry at i * stride + 4k (count 0, min
   * Infinity, max -Infinity where it had no value, or where the summary does not store it:
   * written before it was appended).
   */
  stats = new Float64Array(64 * FIELDS);

  /** Room for `periods` periods of `stride` values, each entry set to none. */
  clear(periods: number, stride: number): void {
    if (this.starts.length < periods) [this.starts, this.rowCounts] = [new Float64Array(periods), new Float64Array(periods)];
    const used = periods * stride;
    if (this.stats.length < used) this.stats = new Float64Array(used);
    const stats = this.stats;
    for (let at = 0; at < used; at += FIELDS) {
      stats[at] = 0;
      stats[at + 1] = Infinity;
      stats[at + 2] = -Infinity;
      stats[at + 3] = 0;
    }
    this.count = periods;
    this.stride = stride;
  }
}

/**
 * Reads the periods of a version 2 or 3 summary, the bytes of `blob` from `from` to `end` (a
 * summary alone, or one of several back to back), into `into`: `entries` (summary entries: metric
 * indexes, then METRIC_KEYS.length + reason index; ascending) only. Returns false, reading
 * nothing, for a version 1 summary, which has no periods.
 */
export function readPeriods(blob: Uint8Array, entries: readonly number[], into: DecodedPeriods, from = 0, end = blob.length): boolean {
  const version = blob[from];
  if (version === PERIOD_SUMMARY_FORMAT_VERSION) {
    readPackedPeriods(blob, from, end, entries, into);
    return true;
  }
  if (version === BYTE_PERIOD_SUMMARY_FORMAT_VERSION) {
    readBytePeriods(from === 0 && end === blob.length ? blob : blob.subarray(from, end), entries, into);
    return true;
  }
  return false;
}

const visited = new DecodedPeriods();

/**
 * readPeriods handing each period to `visit`, with `stats[at..]` holding count/min/max/sum of the
 * k-th asked entry at at + 4k. `stats` is scratch, valid during the call. Returns false, visiting
 * nothing, for a version 1 summary.
 */
export function visitPeriods(
  blob: Uint8Array,
  entries: readonly number[],
  visit: (start: number, rowCount: number, stats: Float64Array, at: number) => void,
): boolean {
  if (!readPeriods(blob, entries, visited)) return false;
  const { count, starts, rowCounts, stats, stride } = visited;
  for (let i = 0; i < count; i++) visit(starts[i], rowCounts[i], stats, i * stride);
  return true;
}

/** A version 2 summary, from its version byte. */
function readBytePeriods(blob: Uint8Array, entries: readonly number[], into: DecodedPeriods): void {
  const input = new ByteReader(blob);
  input.skip(1);
  const periods = input.readUnsigned();
  // Every period takes at least a bit of its row count's run.
  if (input.overran || periods > blob.length * 8) throw corrupt();
  into.clear(periods, entries.length * FIELDS);
  const { starts, rowCounts } = into;
  let index = 0;
  for (let i = 0; i < periods; i++) {
    index += input.readSigned();
    starts[i] = index * MINUTE_MS;
    rowCounts[i] = input.readUnsigned();
  }
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
}

/**
 * Scratch of the version 3 reader, grown to the most periods a summary held: each period's count
 * of the entry being read, when its counts follow, and the mins and spreads of its deltas mode.
 */
let entryCounts = new Float64Array(64);
let periodMins = new Float64Array(64);
let periodSpreads = new Float64Array(64);
/** Where each section read so far starts, as a bit offset: a copy names the one it repeats by its number. */
let sectionStarts = new Float64Array(32);
/** How many sections of the summary being read have started. */
let sectionsSeen = 0;
/** How many periods the summary being read holds, and how many of them have rows. */
let periodCount = 0;
let periodsWithRows = 0;

// Module constants, not imported bindings, in the reader's loops: where modules are compiled to
// CommonJS (tsx, the tests) every use of an imported binding is a getter call.
const WIDTH_BITS = RUN_WIDTH_BITS;
const WIDEST = MAX_PACKED_BITS;
const MINUTE = MINUTE_MS;

// The version 3 reader keeps its bit position in a local, which each step takes and returns,
// and reads through bitsAt, small enough to be inlined: a rollup of four asked metrics is some
// 14 sections of a few values each, and a call and a field write per value cost more than the value.

/**
 * `width` bits (at most 24) at bit `position` of `bytes`. A byte past the array's end reads as
 * undefined, which the bitwise operators take as zero bits.
 */
function bitsAt(bytes: Uint8Array, position: number, width: number): number {
  const at = position >>> 3;
  return ((bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> (position & 7)) & ((1 << width) - 1);
}

/** A packed value of any width up to 53 bits. */
function valueAt(bytes: Uint8Array, position: number, width: number): number {
  return width <= 24 ? bitsAt(bytes, position, width) : wideValueAt(bytes, position, width);
}

function wideValueAt(bytes: Uint8Array, position: number, width: number): number {
  const low = bitsAt(bytes, position, 24);
  if (width <= 48) return low + bitsAt(bytes, position + 24, width - 24) * 2 ** 24;
  return low + bitsAt(bytes, position + 24, 24) * 2 ** 24 + bitsAt(bytes, position + 48, width - 48) * 2 ** 48;
}

/** The width opening a run of `count` values (none for no values): -1 past WIDEST, which no writer writes. */
function widthAt(bytes: Uint8Array, position: number, count: number): number {
  if (count === 0) return 0;
  const width = bitsAt(bytes, position, WIDTH_BITS);
  return width > WIDEST ? -1 : width;
}

/** Bits a run of `count` values takes, its width included. */
const runBits = (count: number, width: number) => (count === 0 ? 0 : WIDTH_BITS + count * width);

/** A version 3 summary, from its version byte at `from` to `end`. */
function readPackedPeriods(blob: Uint8Array, from: number, end: number, entries: readonly number[], into: DecodedPeriods): void {
  const input = new ByteReader(blob);
  input.position = from + 1;
  const periods = input.readUnsigned();
  // Every period takes at least a bit of its row count's run.
  if (input.position > end || periods > (end - from) * 8) throw corrupt();
  let index = input.readSigned();
  const storedMetrics = input.readUnsigned();
  const storedReasons = input.readUnsigned();
  if (input.position > end) throw corrupt();
  into.clear(periods, entries.length * FIELDS);
  if (entryCounts.length < periods) {
    const length = Math.max(periods, entryCounts.length * 2);
    [entryCounts, periodMins, periodSpreads] = [new Float64Array(length), new Float64Array(length), new Float64Array(length)];
  }
  periodCount = periods;
  const endBit = end * 8;
  let position = input.position * 8;
  const { starts, rowCounts } = into;
  const later = Math.max(0, periods - 1);
  let width = widthAt(blob, position, later);
  if (width < 0) throw corrupt();
  position += runBits(later, width) - later * width;
  if (periods > 0) starts[0] = index * MINUTE;
  for (let i = 1; i < periods; i++, position += width) {
    index += unzigzag(valueAt(blob, position, width));
    starts[i] = index * MINUTE;
  }
  width = widthAt(blob, position, periods);
  if (width < 0) throw corrupt();
  position += runBits(periods, width) - periods * width;
  periodsWithRows = 0;
  for (let i = 0; i < periods; i++, position += width) if ((rowCounts[i] = valueAt(blob, position, width)) > 0) periodsWithRows++;
  sectionsSeen = 0;
  let k = 0;
  // Two runs of sections, metrics then reasons, each as many as the header says.
  for (let run = 0; run < 2; run++) {
    const first = run === 0 ? 0 : METRICS;
    const known = run === 0 ? METRICS : REASONS;
    const stored = run === 0 ? storedMetrics : storedReasons;
    for (let i = 0; i < stored; i++) {
      // Nothing after the last asked section is read: a chart of four metrics stops halfway.
      // Only a reader of every section checks that the summary ends where its last one does.
      if (k === entries.length) return;
      if (sectionsSeen === sectionStarts.length) {
        const grown = new Float64Array(sectionStarts.length * 2);
        grown.set(sectionStarts);
        sectionStarts = grown;
      }
      sectionStarts[sectionsSeen++] = position;
      // A section of an entry this build does not know (appended by a later one) is passed over.
      const asked = i < known && entries[k] === first + i;
      position = asked ? readPackedSection(blob, position, into, k * FIELDS) : skipPackedSection(blob, position);
      if (position > endBit) throw corrupt();
      if (asked) k++;
    }
    while (k < entries.length && entries[k] < first + known) k++;
  }
  if (position > endBit || endBit - position >= 8) throw corrupt();
}

/**
 * Where the version 3 section at bit `position` ends, reading no more of it than that takes: its
 * widths, and the counts and spreads that say how many values follow. Most sections a chart reads
 * are passed over (it asks for four metrics of 18, and reads up to the last of them).
 */
function skipPackedSection(blob: Uint8Array, position: number): number {
  const modeAndFlag = bitsAt(blob, position, MODE_WIDTH + 1);
  position += MODE_WIDTH + 1;
  const mode = modeAndFlag & ((1 << MODE_WIDTH) - 1);
  const countsFollow = modeAndFlag >>> MODE_WIDTH === 1;
  if (mode === PACKED_NONE) return position;
  let width = 0;
  if (mode === PACKED_SAME_AS) {
    width = bitsAt(blob, position, WIDTH_BITS);
    const same = valueAt(blob, position + WIDTH_BITS, width);
    if (width > WIDEST || countsFollow || !(same < sectionsSeen - 1)) throw corrupt();
    return position + WIDTH_BITS + width;
  }
  let withValues = periodsWithRows;
  if (countsFollow) {
    const periods = periodCount;
    width = widthAt(blob, position, periods);
    if (width < 0) throw corrupt();
    position += runBits(periods, width) - periods * width;
    withValues = 0;
    for (let i = 0; i < periods; i++, position += width) if (valueAt(blob, position, width) > 0) withValues++;
  }
  if (mode === PACKED_ZEROS) return position;
  if (mode === PACKED_RAW) return position + withValues * 3 * 64;
  if (mode === PACKED_ZERO_ONE) position += 1;
  if (mode === PACKED_CONSTANT || mode === PACKED_ZERO_ONE) {
    const values = mode === PACKED_CONSTANT ? 1 : withValues;
    width = widthAt(blob, position, values);
    if (width < 0) throw corrupt();
    return position + runBits(values, width);
  }
  if (mode !== PACKED_DELTAS) throw corrupt();
  // The first min and the later mins' differences, passed over.
  width = bitsAt(blob, position, WIDTH_BITS);
  position += WIDTH_BITS + width;
  const later = withValues - 1;
  let laterWidth = widthAt(blob, position, later);
  if (width > WIDEST || laterWidth < 0) throw corrupt();
  position += runBits(later, laterWidth);
  // The spreads, summed to count the periods whose values differ: each of those has a leftover.
  width = bitsAt(blob, position, WIDTH_BITS);
  let spread = valueAt(blob, position + WIDTH_BITS, width);
  position += WIDTH_BITS + width;
  laterWidth = widthAt(blob, position, later);
  if (width > WIDEST || laterWidth < 0) throw corrupt();
  let differ = spread > 0 ? 1 : 0;
  if (later !== 0) position += WIDTH_BITS;
  for (let i = 1; i < withValues; i++, position += laterWidth) {
    spread += unzigzag(valueAt(blob, position, laterWidth));
    if (spread > 0) differ++;
    else if (spread < 0) throw corrupt();
  }
  width = widthAt(blob, position, differ);
  if (width < 0) throw corrupt();
  return position + runBits(differ, width);
}

/**
 * Reads the version 3 section at bit `position` into the entry at `at` of each period, or passes
 * over it when `at` is -1, and returns where it ends; a copy reads the section it names.
 */
function readPackedSection(blob: Uint8Array, position: number, into: DecodedPeriods, at: number): number {
  const modeAndFlag = bitsAt(blob, position, MODE_WIDTH + 1);
  position += MODE_WIDTH + 1;
  const mode = modeAndFlag & ((1 << MODE_WIDTH) - 1);
  const countsFollow = modeAndFlag >>> MODE_WIDTH === 1;
  if (mode === PACKED_SAME_AS) {
    const width = widthAt(blob, position, 1);
    if (width < 0) throw corrupt();
    const same = valueAt(blob, position + WIDTH_BITS, width);
    position += WIDTH_BITS + width;
    if (countsFollow || !(same < sectionsSeen - 1)) throw corrupt();
    if (at < 0) return position;
    if (bitsAt(blob, sectionStarts[same], MODE_WIDTH) === PACKED_SAME_AS) throw corrupt();
    readPackedSection(blob, sectionStarts[same], into, at);
    return position;
  }
  if (mode === PACKED_NONE) return position;
  const periods = into.count;
  let counts = into.rowCounts;
  let withValues = periodsWithRows;
  if (countsFollow) {
    counts = entryCounts;
    const width = widthAt(blob, position, periods);
    if (width < 0) throw corrupt();
    position += runBits(periods, width) - periods * width;
    withValues = 0;
    for (let i = 0; i < periods; i++, position += width) if ((counts[i] = valueAt(blob, position, width)) > 0) withValues++;
  }
  const { stats, stride } = into;
  if (at >= 0) for (let i = 0, to = at; i < periods; i++, to += stride) stats[to] = counts[i];
  if (mode === PACKED_ZEROS) {
    if (at >= 0)
      for (let i = 0, to = at; i < periods; i++, to += stride) if (counts[i] > 0) stats[to + 1] = stats[to + 2] = stats[to + 3] = 0;
    return position;
  }
  if (mode === PACKED_CONSTANT) {
    const width = widthAt(blob, position, 1);
    if (width < 0) throw corrupt();
    const value = unzigzag(valueAt(blob, position + WIDTH_BITS, width));
    position += WIDTH_BITS + width;
    if (at >= 0) {
      for (let i = 0, to = at; i < periods; i++, to += stride) {
        if (counts[i] === 0) continue;
        stats[to + 1] = stats[to + 2] = value;
        stats[to + 3] = value * counts[i];
      }
    }
    return position;
  }
  if (mode === PACKED_ZERO_ONE) {
    const complement = bitsAt(blob, position, 1) === 1;
    position += 1;
    const width = widthAt(blob, position, withValues);
    if (width < 0) throw corrupt();
    position += runBits(withValues, width) - withValues * width;
    if (at < 0) return position + withValues * width;
    for (let i = 0, to = at; i < periods; i++, to += stride) {
      const count = counts[i];
      if (count === 0) continue;
      const stored = valueAt(blob, position, width);
      position += width;
      const set = complement ? count - stored : stored;
      if (!(set >= 0 && set <= count)) throw corrupt();
      stats[to + 1] = set === count ? 1 : 0;
      stats[to + 2] = set > 0 ? 1 : 0;
      stats[to + 3] = set;
    }
    return position;
  }
  if (mode === PACKED_RAW) {
    if (at < 0) return position + withValues * 3 * 64;
    for (let i = 0, to = at; i < periods; i++, to += stride) {
      if (counts[i] === 0) continue;
      for (let field = 1; field < FIELDS; field++, position += 64) stats[to + field] = float64At(blob, position);
    }
    return position;
  }
  if (mode === PACKED_DELTAS) return readPackedDeltas(blob, position, into, at, counts, withValues);
  throw corrupt();
}

/**
 * The deltas mode's runs from bit `position`: the first min, the later mins' differences, the
 * first spread, the later spreads' differences, the sums' leftovers. Returns where they end.
 */
function readPackedDeltas(
  blob: Uint8Array,
  position: number,
  { stats, stride, count: periods }: DecodedPeriods,
  at: number,
  counts: Float64Array,
  withValues: number,
): number {
  const mins = periodMins;
  const spreads = periodSpreads;
  let width = widthAt(blob, position, 1);
  if (width < 0) throw corrupt();
  mins[0] = unzigzag(valueAt(blob, position + WIDTH_BITS, width));
  position += WIDTH_BITS + width;
  width = widthAt(blob, position, withValues - 1);
  if (width < 0) throw corrupt();
  position += runBits(withValues - 1, width) - (withValues - 1) * width;
  if (at < 0) position += (withValues - 1) * width;
  else for (let i = 1; i < withValues; i++, position += width) mins[i] = mins[i - 1] + unzigzag(valueAt(blob, position, width));
  width = widthAt(blob, position, 1);
  if (width < 0) throw corrupt();
  spreads[0] = valueAt(blob, position + WIDTH_BITS, width);
  position += WIDTH_BITS + width;
  width = widthAt(blob, position, withValues - 1);
  if (width < 0) throw corrupt();
  position += runBits(withValues - 1, width) - (withValues - 1) * width;
  // Only periods whose values differ have a leftover: the spreads say how many.
  let spread = spreads[0] > 0 ? 1 : 0;
  for (let i = 1; i < withValues; i++, position += width) {
    spreads[i] = spreads[i - 1] + unzigzag(valueAt(blob, position, width));
    if (spreads[i] > 0) spread++;
    else if (spreads[i] < 0) throw corrupt();
  }
  width = widthAt(blob, position, spread);
  if (width < 0) throw corrupt();
  position += runBits(spread, width) - spread * width;
  if (at < 0) return position + spread * width;
  let previousSum = 0;
  let previousCount = 0;
  for (let i = 0, to = at, n = 0; i < periods; i++, to += stride) {
    const count = counts[i];
    if (count === 0) continue;
    const min = mins[n];
    const max = min + spreads[n++];
    let sum = min * count;
    if (max !== min) {
      sum = predictedSum(count, min, max, previousSum, previousCount) + unzigzag(valueAt(blob, position, width));
      position += width;
    }
    stats[to + 1] = min;
    stats[to + 2] = max;
    stats[to + 3] = sum;
    previousSum = sum;
    previousCount = count;
  }
  return position;
}

/** A float64 written as two 32-bit halves, low first, at bit `position`. */
function float64At(blob: Uint8Array, position: number): number {
  float64.setUint32(0, valueAt(blob, position, 32), true);
  float64.setUint32(4, valueAt(blob, position + 32, 32), true);
  return float64.getFloat64(0, true);
}

/** Reads the section at `start`, or the earlier one it names as its copy, into the entry at `at` of each period. */
function readSection(
  input: ByteReader,
  blob: Uint8Array,
  sectionStarts: readonly number[],
  start: number,
  into: DecodedPeriods,
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
function readMetricSection(input: ByteReader, { rowCounts, count: periods, stats: table, stride }: DecodedPeriods, at: number): void {
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
const merged = new DecodedPeriods();

/**
 * Adds a stored summary of any version into `into`: all of its periods. The summary is `blob`, or
 * its bytes from `from` to `end` (one of a stream's, summary-stream.ts).
 */
export function mergeStoredSummary(into: MetricSummary, blob: Uint8Array, from = 0, end = blob.length): void {
  if (readPeriods(blob, EVERY_ENTRY, merged, from, end)) {
    for (let i = 0; i < merged.count; i++) addEntries(into, 0, merged.stats, i * merged.stride, SUMMARY_ENTRIES);
    return;
  }
  if (blob[from] !== SUMMARY_FORMAT_VERSION) {
    throw new Error(
      `unsupported metric summary format version ${blob[from]} (this build reads versions ${SUMMARY_FORMAT_VERSION} to ${PERIOD_SUMMARY_FORMAT_VERSION})`,
    );
  }
  mergeEncodedSummary(into, from === 0 && end === blob.length ? blob : blob.subarray(from, end));
}

const float64 = new DataView(new ArrayBuffer(8));

function readFloat64(input: ByteReader): number {
  const bytes = input.readBytes(8);
  for (let i = 0; i < 8; i++) float64.setUint8(i, bytes[i] | 0);
  return float64.getFloat64(0, true);
}

function corrupt(): Error {
  return new Error("corrupt period summary");
}
