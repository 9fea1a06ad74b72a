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
  SUMMARY_FORMAT_VERSION,
  type MetricSummary,
} from "./metric-summary";
import { MINUTE_MS, slotStart, SUMMARY_PERIOD_MS } from "./time-slots";
import { BitReader, BitWriter } from "./bit-packing";
import { ByteReader, ByteWriter } from "./varint";

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
const unzigzag = (value: number) => (value % 2 === 1 ? -(value + 1) / 2 : value / 2);

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

/** Reused between calls (reading is synchronous): a long chart reads thousands of summaries. */
let starts = new Float64Array(64);
let rowCounts = new Float64Array(64);
let scratch = new Float64Array(64 * FIELDS);

/**
 * Reads the periods of a version 2 or 3 summary, `entries` (summary entries: metric indexes, then
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
  const version = blob[0];
  if (version !== PERIOD_SUMMARY_FORMAT_VERSION && version !== BYTE_PERIOD_SUMMARY_FORMAT_VERSION) return false;
  const input = new ByteReader(blob);
  input.skip(1);
  const periodCount = input.readUnsigned();
  // Every period takes at least a bit of its row count's run.
  if (input.overran || periodCount > blob.length * 8) throw corrupt();
  if (starts.length < periodCount) [starts, rowCounts] = [new Float64Array(periodCount), new Float64Array(periodCount)];
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
  if (version === PERIOD_SUMMARY_FORMAT_VERSION) readPackedPeriods(input, blob, entries, into);
  else readBytePeriods(input, blob, entries, into);
  for (let i = 0; i < periodCount; i++) visit(starts[i], rowCounts[i], table, i * stride);
  return true;
}

/** The rest of a version 2 summary, after its period count. */
function readBytePeriods(input: ByteReader, blob: Uint8Array, entries: readonly number[], into: PeriodTable): void {
  let index = 0;
  for (let i = 0; i < into.periods; i++) {
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

const packed = new BitReader();
/** Each period's count of the entry being read (asked or passed over). */
let entryCounts = new Float64Array(64);

/** The rest of a version 3 summary, after its period count. */
function readPackedPeriods(input: ByteReader, blob: Uint8Array, entries: readonly number[], into: PeriodTable): void {
  const periods = into.periods;
  let index = input.readSigned();
  const storedMetrics = input.readUnsigned();
  const storedReasons = input.readUnsigned();
  if (input.overran) throw corrupt();
  if (entryCounts.length < periods) entryCounts = new Float64Array(periods);
  packed.reset(blob, input.position);
  let width = packed.readWidth(Math.max(0, periods - 1));
  for (let i = 0; i < periods; i++) {
    if (i > 0) index += unzigzag(packed.read(width));
    starts[i] = index * MINUTE_MS;
  }
  width = packed.readWidth(periods);
  for (let i = 0; i < periods; i++) rowCounts[i] = packed.read(width);
  const sectionStarts: number[] = [];
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
      sectionStarts.push(packed.bitPosition);
      // A section of an entry this build does not know (appended by a later one) is passed over.
      const asked = i < known && entries[k] === first + i;
      readPackedSection(sectionStarts, into, asked ? k * FIELDS : -1);
      if (packed.overran) throw corrupt();
      if (asked) k++;
    }
    while (k < entries.length && entries[k] < first + known) k++;
  }
  if (packed.overran || !packed.atEnd) throw corrupt();
}

/**
 * Reads one version 3 section into the entry at `at` of each period, or passes over it when
 * `at` is -1; a copy reads the section it names, then goes on after itself.
 */
function readPackedSection(sectionStarts: readonly number[], into: PeriodTable, at: number): void {
  const modeAndFlag = packed.read(MODE_WIDTH + 1);
  const mode = modeAndFlag & ((1 << MODE_WIDTH) - 1);
  const countsFollow = modeAndFlag >>> MODE_WIDTH === 1;
  if (mode === PACKED_SAME_AS) {
    const same = packed.read(packed.readWidth(1));
    if (countsFollow || !(same < sectionStarts.length - 1)) throw corrupt();
    if (at < 0) return;
    const after = packed.bitPosition;
    packed.bitPosition = sectionStarts[same];
    if (packed.read(MODE_WIDTH) === PACKED_SAME_AS) throw corrupt();
    packed.bitPosition = sectionStarts[same];
    readPackedSection(sectionStarts, into, at);
    packed.bitPosition = after;
    return;
  }
  if (mode === PACKED_NONE) return;
  const { periods, table, stride } = into;
  const counts = entryCounts;
  if (countsFollow) {
    const width = packed.readWidth(periods);
    for (let i = 0; i < periods; i++) counts[i] = packed.read(width);
  } else for (let i = 0; i < periods; i++) counts[i] = into.rowCounts[i];
  let withValues = 0;
  for (let i = 0; i < periods; i++) if (counts[i] > 0) withValues++;
  if (at >= 0) for (let i = 0, to = at; i < periods; i++, to += stride) table[to] = counts[i];
  if (mode === PACKED_CONSTANT || mode === PACKED_ZEROS) {
    const value = mode === PACKED_ZEROS ? 0 : unzigzag(packed.read(packed.readWidth(1)));
    if (at < 0) return;
    for (let i = 0, to = at; i < periods; i++, to += stride) {
      if (counts[i] === 0) continue;
      table[to + 1] = table[to + 2] = value;
      table[to + 3] = value * counts[i];
    }
  } else if (mode === PACKED_ZERO_ONE) {
    const complement = packed.read(1) === 1;
    const width = packed.readWidth(withValues);
    if (at < 0) return packed.skip(withValues, width);
    for (let i = 0, to = at; i < periods; i++, to += stride) {
      const count = counts[i];
      if (count === 0) continue;
      const stored = packed.read(width);
      const set = complement ? count - stored : stored;
      if (!(set >= 0 && set <= count)) throw corrupt();
      table[to + 1] = set === count ? 1 : 0;
      table[to + 2] = set > 0 ? 1 : 0;
      table[to + 3] = set;
    }
  } else if (mode === PACKED_RAW) {
    if (at < 0) return packed.skip(withValues, 3 * 64);
    for (let i = 0, to = at; i < periods; i++, to += stride) {
      if (counts[i] === 0) continue;
      for (let field = 1; field < FIELDS; field++) table[to + field] = readFloat64Bits();
    }
  } else if (mode === PACKED_DELTAS) {
    readPackedDeltas(into, at, withValues);
  } else throw corrupt();
}

/** Each period's min and spread (max - min) of the entry being read, decoded before its sums. */
let periodMins = new Float64Array(64);
let periodSpreads = new Float64Array(64);

/** The deltas mode's runs: the first min, the later mins' differences, the first spread, the later spreads' differences, the sums' leftovers. */
function readPackedDeltas({ periods, table, stride }: PeriodTable, at: number, withValues: number): void {
  if (periodMins.length < withValues) [periodMins, periodSpreads] = [new Float64Array(withValues), new Float64Array(withValues)];
  const mins = periodMins;
  const spreads = periodSpreads;
  let width = packed.readWidth(1);
  mins[0] = unzigzag(packed.read(width));
  width = packed.readWidth(withValues - 1);
  if (at < 0) packed.skip(withValues - 1, width);
  else for (let i = 1; i < withValues; i++) mins[i] = mins[i - 1] + unzigzag(packed.read(width));
  spreads[0] = packed.read(packed.readWidth(1));
  width = packed.readWidth(withValues - 1);
  // Only periods whose values differ have a leftover: the spreads say how many.
  let spread = spreads[0] > 0 ? 1 : 0;
  for (let i = 1; i < withValues; i++) {
    spreads[i] = spreads[i - 1] + unzigzag(packed.read(width));
    if (spreads[i] > 0) spread++;
    else if (spreads[i] < 0) throw corrupt();
  }
  width = packed.readWidth(spread);
  if (at < 0) {
    packed.skip(spread, width);
    return;
  }
  let previousSum = 0;
  let previousCount = 0;
  for (let i = 0, to = at, n = 0; i < periods; i++, to += stride) {
    const count = entryCounts[i];
    if (count === 0) continue;
    const min = mins[n];
    const max = min + spreads[n++];
    const sum = max === min ? min * count : predictedSum(count, min, max, previousSum, previousCount) + unzigzag(packed.read(width));
    table[to + 1] = min;
    table[to + 2] = max;
    table[to + 3] = sum;
    previousSum = sum;
    previousCount = count;
  }
}

function readFloat64Bits(): number {
  float64.setUint32(0, packed.read(32), true);
  float64.setUint32(4, packed.read(32), true);
  return float64.getFloat64(0, true);
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
  if (merged) return;
  if (blob[0] !== SUMMARY_FORMAT_VERSION) {
    throw new Error(
      `unsupported metric summary format version ${blob[0]} (this build reads versions ${SUMMARY_FORMAT_VERSION} to ${PERIOD_SUMMARY_FORMAT_VERSION})`,
    );
  }
  mergeEncodedSummary(into, blob);
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
