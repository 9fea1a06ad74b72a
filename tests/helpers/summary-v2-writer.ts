/**
 * Writes period summaries in format version 2, as builds before version 3 did for every chunk
 * and rollup (docs/storage-format.md): what tests use to make data such a build wrote.
 */
import { SUMMARIZED_REASONS, SUMMARY_ENTRIES, SUMMARY_FIELDS } from "../../src/server/storage/metric-summary";
import { BYTE_PERIOD_SUMMARY_FORMAT_VERSION, visitPeriods, type PeriodSummary } from "../../src/server/storage/period-summaries";
import { MINUTE_MS } from "../../src/server/storage/time-slots";
import { ByteWriter } from "../../src/server/storage/varint";
import { METRIC_KEYS } from "../../src/telemetry/types";

const METRICS = METRIC_KEYS.length;
const REASONS = SUMMARIZED_REASONS.length;
const FIELDS = SUMMARY_FIELDS;
const MODE_NONE = 0;
const MODE_CONSTANT = 1;
const MODE_DELTA = 2;
const MODE_RAW = 3;
const MODE_SAME_AS = 4;
const FLAG_COUNTS = 0x80;
const DELTA_SAFE_MAGNITUDE = 2 ** 52;

export function encodePeriodsV2(periods: readonly PeriodSummary[]): Buffer {
  const out = new ByteWriter(512);
  out.writeByte(BYTE_PERIOD_SUMMARY_FORMAT_VERSION);
  out.writeUnsigned(periods.length);
  let previousIndex = 0;
  for (const period of periods) {
    const index = period.start / MINUTE_MS;
    out.writeSigned(index - previousIndex);
    previousIndex = index;
    out.writeUnsigned(period.rowCount);
  }
  const sections: Buffer[] = [];
  const sectionWriter = new ByteWriter(1024);
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
  const mode = constant && deltaSafe ? MODE_CONSTANT : deltaSafe ? MODE_DELTA : MODE_RAW;
  out.writeByte(mode | (countsDiffer ? FLAG_COUNTS : 0));
  if (countsDiffer) for (const { summary } of periods) out.writeUnsigned(summary[at]);
  if (mode === MODE_CONSTANT) {
    out.writeSigned(first);
    return;
  }
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
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, sum, true);
      for (const b of bytes) out.writeByte(b);
    }
  }
}

/** The periods a stored summary of version 2 or 3 holds, every entry of each. */
export function storedPeriods(blob: Uint8Array): PeriodSummary[] {
  const periods: PeriodSummary[] = [];
  const entries = Array.from({ length: SUMMARY_ENTRIES }, (_, entry) => entry);
  visitPeriods(blob, entries, (start, rowCount, stats, at) =>
    periods.push({ start, rowCount, summary: Float64Array.from(stats.subarray(at, at + SUMMARY_ENTRIES * FIELDS)) }),
  );
  return periods;
}
