import { z } from "zod";
import { gpuIndex, gpuUuid } from "../../server/api/inputs";
import { CSV_COLUMNS, METRIC_FIELDS } from "../../server/rest/records";
import { fallbackInfo } from "../../server/storage/telemetry-store";
import { METRIC_KEYS, type GpuInfo, type GpuMetrics, type GpuSample } from "../../telemetry/types";

/**
 * One record of the recorder's own export (GET /api/telemetry/export, CSV or
 * JSON), read back into a sample. The raw clock event reason mask is its own
 * column (clock_event_reasons); the words and flags beside it are derived from
 * it, so they are read past, and every stored value comes back exactly.
 */

const metricValue = z.number({ error: "must be a number or empty" }).finite("must be a finite number").nullable();

const exportedRecord = z.object({
  gpu_index: gpuIndex,
  gpu_uuid: gpuUuid,
  gpu_name: z.string({ error: "must be a string" }).optional(),
  // With its zone: a time without one would be read in this machine's, not the exporter's.
  timestamp: z.iso.datetime({ offset: true, error: "must be an ISO-8601 time with its zone, such as 2026-12-02T21:05:00.123Z" }),
  ...Object.fromEntries(METRIC_KEYS.map((key) => [METRIC_FIELDS[key], metricValue.optional()])),
});

export type ExportedSample = { sample: GpuSample; name: string } | { error: string };

/** The sample a record holds, or why it cannot be read (naming the field). */
export function sampleOfRecord(record: unknown): ExportedSample {
  const parsed = exportedRecord.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `${issue.path.join(".") || "record"}: ${issue.message}` };
  }
  const fields = parsed.data as Record<string, unknown>;
  const metrics = Object.fromEntries(METRIC_KEYS.map((key) => [key, fields[METRIC_FIELDS[key]] ?? null])) as GpuMetrics;
  return {
    sample: { uuid: parsed.data.gpu_uuid, index: parsed.data.gpu_index, timestamp: Date.parse(parsed.data.timestamp), ...metrics },
    name: parsed.data.gpu_name ?? `GPU ${parsed.data.gpu_index}`,
  };
}

/** A GPU's facts as the export shows them: its name, and the limits each sample repeats. */
export const infoOfExported = (sample: GpuSample, name: string): GpuInfo => ({ ...fallbackInfo(sample), name });

const KNOWN_COLUMNS = new Set<string>([...CSV_COLUMNS, "clock_event_reasons_decoded"]);
const NEEDED_COLUMNS = ["gpu_index", "gpu_uuid", "timestamp"] as const;

/** Why a CSV header is not the export's, or null when it is (its columns the export's, those that name a sample present). */
export function exportHeaderProblem(columns: readonly string[]): string | null {
  const unknown = columns.filter((column) => !KNOWN_COLUMNS.has(column));
  if (unknown.length > 0) return `unknown column${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")}`;
  const missing = NEEDED_COLUMNS.filter((column) => !columns.includes(column));
  if (missing.length > 0) return `no ${missing.join(", ")} column`;
  return null;
}

/** A CSV header that looks like the export's (it names a GPU UUID and a time), to tell it from an nvidia-smi log. */
export const looksLikeExportHeader = (columns: readonly string[]) => columns.includes("gpu_uuid") && columns.includes("timestamp");

/** A CSV line's cells as the record the JSON export would hold: empty cells null, numbers as numbers. */
export function recordOfCells(columns: readonly string[], cells: readonly string[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  columns.forEach((column, i) => {
    const cell = cells[i] ?? "";
    if (column === "gpu_uuid" || column === "gpu_name" || column === "timestamp" || column === "clock_event_reason_words") {
      record[column] = cell;
      return;
    }
    // A cell that is not a number is kept as text, so the check names it.
    record[column] = cell === "" ? null : cell.trim() !== "" && Number.isFinite(Number(cell)) ? Number(cell) : cell;
  });
  return record;
}

/** RFC 4180 cells of one line (quoted cells may hold commas and doubled quotes); null when a quote is left open. */
export function csvCells(line: string): string[] | null {
  const cells: string[] = [];
  let at = 0;
  for (;;) {
    if (line[at] === '"') {
      let text = "";
      let i = at + 1;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote === -1) return null;
        text += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          text += '"';
          i = quote + 2;
          continue;
        }
        at = quote + 1;
        break;
      }
      cells.push(text);
    } else {
      const comma = line.indexOf(",", at);
      cells.push(line.slice(at, comma === -1 ? line.length : comma));
      at = comma === -1 ? line.length : comma;
    }
    if (at >= line.length) return cells;
    if (line[at] !== ",") return null;
    at++;
  }
}
