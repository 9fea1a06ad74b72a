/**
 * Writes a summary in format version 1, as builds before period summaries did for every chunk
 * and rollup (docs/storage-format.md): what tests use to make data an older build wrote.
 */
import { METRIC_KEYS } from "../../src/telemetry/types";
import { SUM_IS_FLOAT, SUMMARY_FIELDS, SUMMARY_FORMAT_VERSION, type MetricSummary } from "../../src/server/storage/metric-summary";
import { ByteWriter, MAX_VARINT_MAGNITUDE } from "../../src/server/storage/varint";

const METRICS = METRIC_KEYS.length;
const FIELDS = SUMMARY_FIELDS;

export function encodeSummary(summary: MetricSummary): Buffer {
  const out = new ByteWriter(256);
  out.writeByte(SUMMARY_FORMAT_VERSION);
  for (let at = 0; at < METRICS * FIELDS; at += FIELDS) {
    const count = summary[at];
    out.writeUnsigned(count);
    if (count === 0) continue;
    out.writeSigned(summary[at + 1]);
    out.writeSigned(summary[at + 2]);
    const sum = summary[at + 3];
    if (Math.abs(sum) < MAX_VARINT_MAGNITUDE && Number.isInteger(sum)) {
      out.writeByte(0);
      out.writeSigned(sum);
    } else {
      out.writeByte(SUM_IS_FLOAT);
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setFloat64(0, sum, true);
      for (const b of bytes) out.writeByte(b);
    }
  }
  return Buffer.from(out.view());
}
