import { compileFunction, perMetric } from "../per-metric-code";
import { boundedMemo } from "./bounded-memo";
import { reasonsOf, type SampleSource } from "./records";
import { isoText } from "./records-json";

/**
 * Sample records written straight to a CSV line (the export's columns, CSV_COLUMNS), the same
 * text as quoting each field of `sampleRecord(s)` in turn, without building the record, an
 * array of cells and a string per cell first: a 48-hour export of 8 GPUs is 1.4 million lines,
 * and that garbage raised the server's memory by some 200 MB while it ran.
 */

/** RFC 4180: quote a cell holding a comma, quote or line break; null is an empty cell. */
export function csvCell(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Names, UUIDs and reason words repeat on every line of a GPU: quoted once. */
const textCell = boundedMemo(4096, (text: string) => csvCell(text));

export const reasonsCell = boundedMemo(1024, (mask: number | null) => csvCell(reasonsOf(mask).words.join("; ")));

const numberCell = (value: number | null) => (value === null ? "" : String(value));

/** One CSV line, `\r\n` included; tests/unit/records-json.test.ts holds it to quoting sampleRecord's fields. */
export const sampleCsvLine = compileFunction<(sample: SampleSource) => string>(
  "sampleCsvLine",
  ["sample"],
  `return sample.gpuIndex + "," + textCell(sample.gpuUuid) + "," + textCell(sample.gpuName) + "," + isoText(sample.timestamp) +
${perMetric((metric) => `  "," + numberCell(sample.${metric.key}) +`)}
  "," + reasonsCell(sample.clockEventReasons) + "\\r\\n";`,
  { textCell, numberCell, isoText, reasonsCell },
);
