import type { SmiField } from "../../src/server/sources/nvidia-smi-csv";
import type { GpuInfo, GpuMetrics } from "../../src/telemetry/types";

/** Watts carry two decimals in nvidia-smi's output (`78.88 W`); the other units are whole. */
const DECIMALS_BY_UNIT: Record<string, number> = { W: 2 };

/** A time as nvidia-smi prints it: the host's local time, `2026/11/26 02:27:36.520`. */
export function formatSmiTimestamp(at: number): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}/${two(d.getMonth() + 1)}/${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`
  );
}

/** One GPU's line of `nvidia-smi --query-gpu=<fields> --format=csv`, cell by cell, units included. */
export function smiCells(fields: readonly SmiField[], info: GpuInfo, metrics: GpuMetrics, timestamp: string): string[] {
  return fields.map((field) => {
    switch (field.kind) {
      case "timestamp":
        return timestamp;
      case "text":
        return (field.identity === "uuid" ? info.uuid : field.infoKey === undefined ? null : info[field.infoKey]) ?? "[N/A]";
      case "reasonFlag":
        return "Not Active";
      // Not stored, so not in the samples: as a card that does not report it.
      case "enum":
        return "[N/A]";
      default: {
        const value = field.identity === "index" ? info.index : field.metricKey === undefined ? null : metrics[field.metricKey];
        if (value === null) return "[N/A]";
        if (field.kind === "hexMask") return `0x${value.toString(16).padStart(16, "0")}`;
        if (field.kind === "pstate") return `P${value}`;
        const text = value.toFixed(field.unit === null ? 0 : (DECIMALS_BY_UNIT[field.unit] ?? 0));
        return field.unit === null ? text : `${text} ${field.unit}`;
      }
    }
  });
}
