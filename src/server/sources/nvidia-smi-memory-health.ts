/**
 * Parsing of `nvidia-smi --query-gpu=uuid,ecc.mode.current,... --format=csv`: each
 * GPU's memory error counters. Pure, never throws; a line without a uuid is skipped,
 * and a value the card does not report, or reports in a form not understood, is null.
 */
import { isNotAvailable, splitCsvLine } from "./nvidia-smi-csv";
import { noMemoryHealth, type GpuMemoryHealth } from "../../telemetry/types";

type CounterKey = Exclude<keyof GpuMemoryHealth, "gpuUuid">;

/** Each query field and what it fills; the query asks for them in this order. */
const MEMORY_HEALTH_FIELDS: ReadonlyArray<[field: string, key: CounterKey | "gpuUuid"]> = [
  ["uuid", "gpuUuid"],
  ["ecc.mode.current", "eccEnabled"],
  ["ecc.errors.corrected.volatile.total", "eccCorrectedVolatile"],
  ["ecc.errors.uncorrected.volatile.total", "eccUncorrectedVolatile"],
  ["ecc.errors.corrected.aggregate.total", "eccCorrectedAggregate"],
  ["ecc.errors.uncorrected.aggregate.total", "eccUncorrectedAggregate"],
  ["remapped_rows.correctable", "remappedRowsCorrectable"],
  ["remapped_rows.uncorrectable", "remappedRowsUncorrectable"],
  ["remapped_rows.pending", "rowRemapPending"],
  ["remapped_rows.failure", "rowRemapFailure"],
  ["retired_pages.single_bit_ecc.count", "retiredPagesSingleBit"],
  ["retired_pages.double_bit.count", "retiredPagesDoubleBit"],
  ["retired_pages.pending", "retiredPagesPending"],
];

export const MEMORY_HEALTH_QUERY_FIELDS: readonly string[] = MEMORY_HEALTH_FIELDS.map(([field]) => field);

const KEY_OF_FIELD = new Map<string, CounterKey | "gpuUuid">(MEMORY_HEALTH_FIELDS);
// Short spellings nvidia-smi accepts and may print in a header.
KEY_OF_FIELD.set("retired_pages.sbe", "retiredPagesSingleBit");
KEY_OF_FIELD.set("retired_pages.dbe", "retiredPagesDoubleBit");
KEY_OF_FIELD.set("remapped_rows.sbe", "remappedRowsCorrectable");
KEY_OF_FIELD.set("remapped_rows.dbe", "remappedRowsUncorrectable");

type FlagKey = "eccEnabled" | "rowRemapPending" | "rowRemapFailure" | "retiredPagesPending";
const FLAG_KEYS = new Set<CounterKey>(["eccEnabled", "rowRemapPending", "rowRemapFailure", "retiredPagesPending"]);
const isFlag = (key: CounterKey): key is FlagKey => FLAG_KEYS.has(key);

/** Enabled/Disabled, Yes/No; null for anything else. */
function parseFlag(raw: string): boolean | null {
  if (raw === "Enabled" || raw === "Yes") return true;
  if (raw === "Disabled" || raw === "No") return false;
  return null;
}

function parseCount(raw: string): number | null {
  return /^\d+$/.test(raw) ? Number(raw) : null;
}

/**
 * Every GPU in the output. The first line is taken as the header when it names the
 * uuid column (`csv` with a header, or a capture of every field); otherwise
 * `fieldsWithoutHeader` gives the column order (`noheader`).
 */
export function parseMemoryHealthCsv(text: string, fieldsWithoutHeader: readonly string[] = MEMORY_HEALTH_QUERY_FIELDS): GpuMemoryHealth[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  if (lines.length === 0) return [];
  const header = splitCsvLine(lines[0].replace(/^\uFEFF/, "")).map((cell) => cell.replace(/\s*\[[^\]]*\]$/, ""));
  const hasHeader = header.includes("uuid");
  const keys = (hasHeader ? header : fieldsWithoutHeader).map((name) => KEY_OF_FIELD.get(name) ?? null);
  const found: GpuMemoryHealth[] = [];
  for (const line of hasHeader ? lines.slice(1) : lines) {
    const cells = splitCsvLine(line);
    const uuid = cells[keys.indexOf("gpuUuid")];
    if (uuid === undefined || !/^(GPU|MIG)-/.test(uuid)) continue;
    const health = noMemoryHealth(uuid);
    for (const [position, key] of keys.entries()) {
      const raw = cells[position];
      if (key === null || key === "gpuUuid" || raw === undefined || isNotAvailable(raw)) continue;
      if (isFlag(key)) health[key] = parseFlag(raw);
      else health[key] = parseCount(raw);
    }
    found.push(health);
  }
  return found;
}
