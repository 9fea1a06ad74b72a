/**
 * Parsing of `nvidia-smi --query-compute-apps=pid,process_name,used_memory,gpu_uuid --format=csv`:
 * which processes hold memory on which GPU. Pure, never throws; unreadable lines are skipped.
 */
import { isNotAvailable, splitCsvLine } from "./nvidia-smi-csv";
import type { GpuProcess } from "../../telemetry/types";

/** One row: the NVML source reads the same shape. */
export type ComputeApp = GpuProcess;

/** The query this parser expects when the output has no header. */
export const COMPUTE_APPS_QUERY_FIELDS: readonly string[] = ["pid", "process_name", "used_memory", "gpu_uuid"];

type AppColumn = "pid" | "processName" | "usedMemoryMib" | "gpuUuid" | null;

const APP_COLUMNS: Record<string, AppColumn> = {
  pid: "pid",
  process_name: "processName",
  name: "processName",
  used_gpu_memory: "usedMemoryMib",
  used_memory: "usedMemoryMib",
  gpu_uuid: "gpuUuid",
};

function columnOf(headerCell: string): AppColumn {
  const name = headerCell.replace(/\s*\[[^\]]*\]$/, "").trim();
  return APP_COLUMNS[name] ?? null;
}

/**
 * All processes in the output. The first line is taken as the header when it names a
 * known column; otherwise `fieldsWithoutHeader` gives the column order (`noheader`).
 */
export function parseComputeAppsCsv(text: string, fieldsWithoutHeader: readonly string[] = COMPUTE_APPS_QUERY_FIELDS): ComputeApp[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const first = lines[0];
  if (first === undefined) return [];
  const firstAsHeader = splitCsvLine(first).map(columnOf);
  const hasHeader = firstAsHeader.some((column) => column !== null);
  const columns = hasHeader ? firstAsHeader : fieldsWithoutHeader.map(columnOf);
  const apps: ComputeApp[] = [];
  for (const line of hasHeader ? lines.slice(1) : lines) {
    const app = parseAppLine(columns, line);
    if (app !== null) apps.push(app);
  }
  return apps;
}

function parseAppLine(columns: readonly AppColumn[], line: string): ComputeApp | null {
  const cells = mergeExtraCellsIntoName(columns, splitCsvLine(line));
  if (cells === null) return null;
  const app: ComputeApp = { pid: Number.NaN, processName: null, usedMemoryMib: null, gpuUuid: null };
  for (const [position, column] of columns.entries()) {
    const raw = cells[position] ?? "";
    const value = isNotAvailable(raw) || raw === "" ? null : raw;
    switch (column) {
      case "pid":
        app.pid = value !== null && /^\d+$/.test(value) ? Number(value) : Number.NaN;
        break;
      case "processName":
        app.processName = value;
        break;
      case "usedMemoryMib": {
        const match = value === null ? null : /^(\d+(?:\.\d+)?)(?:\s*MiB)?$/.exec(value);
        if (value !== null && !match) return null;
        app.usedMemoryMib = match?.[1] === undefined ? null : Number(match[1]);
        break;
      }
      case "gpuUuid":
        app.gpuUuid = value;
        break;
    }
  }
  return Number.isInteger(app.pid) ? app : null;
}

/** A process name may contain commas; every other column cannot, so the surplus belongs to it. */
function mergeExtraCellsIntoName(columns: readonly AppColumn[], cells: string[]): string[] | null {
  const surplus = cells.length - columns.length;
  if (surplus === 0) return cells;
  const namePosition = columns.indexOf("processName");
  if (surplus < 0 || namePosition < 0) return null;
  const name = cells.slice(namePosition, namePosition + surplus + 1).join(", ");
  return [...cells.slice(0, namePosition), name, ...cells.slice(namePosition + surplus + 1)];
}
