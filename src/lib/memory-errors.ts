import type { GpuMemoryHealth } from "../telemetry/types";

/**
 * A GPU's memory error counters in words, for the live card and `nvidia-oc status`
 * alike: how it stands, a one-line summary, what needs the owner, and the
 * lifetime counts.
 */

export type MemoryErrorsState = "unknown" | "not-kept" | "ok" | "warn" | "bad";

export interface MemoryErrorFlag {
  text: string;
  tone: "warn" | "bad";
  why: string;
}

const count = (n: number | null) => (n === null ? "n/a" : n.toLocaleString("en"));

/** Unknown until read; not kept on a card without ECC counters or a row remapper (GeForce). */
export function memoryErrorsState(health: GpuMemoryHealth | undefined): MemoryErrorsState {
  if (!health) return "unknown";
  if (health.eccEnabled === null && health.remappedRowsCorrectable === null && health.retiredPagesSingleBit === null) return "not-kept";
  if ((health.eccUncorrectedVolatile ?? 0) > 0 || health.rowRemapFailure) return "bad";
  if (health.rowRemapPending || health.retiredPagesPending || (health.eccCorrectedVolatile ?? 0) > 0) return "warn";
  return "ok";
}

/** ECC errors since the driver loaded, and rows remapped when there are any: "1 uncorrected · 12 corrected · 6 rows remapped". */
export function memoryErrorsSummary(health: GpuMemoryHealth): string {
  if (health.eccEnabled === false) return "ECC off";
  const remapped = (health.remappedRowsCorrectable ?? 0) + (health.remappedRowsUncorrectable ?? 0);
  return `${count(health.eccUncorrectedVolatile)} uncorrected · ${count(health.eccCorrectedVolatile)} corrected${remapped > 0 ? ` · ${count(remapped)} rows remapped` : ""}`;
}

/** What needs the owner: a failed remap, a remap waiting for a GPU reset, a page waiting for a reboot. */
export function memoryErrorFlags(health: GpuMemoryHealth): MemoryErrorFlag[] {
  const flags: MemoryErrorFlag[] = [];
  if (health.rowRemapFailure)
    flags.push({
      text: "row remap failed",
      tone: "bad",
      why: "A memory row could not be remapped: the card has no spare left where it needed one.",
    });
  if (health.rowRemapPending)
    flags.push({ text: "GPU reset pending", tone: "warn", why: "A memory row remap waits for a GPU reset to take effect." });
  if (health.retiredPagesPending)
    flags.push({ text: "page retirement pending", tone: "warn", why: "A memory page waits for a reboot to be retired." });
  return flags;
}

/** What the card has been through, not just since the driver loaded. */
export function memoryErrorsLifetime(health: GpuMemoryHealth): string {
  const parts = [
    `Over the card's life: ${count(health.eccUncorrectedAggregate)} uncorrected, ${count(health.eccCorrectedAggregate)} corrected ECC errors.`,
  ];
  if (health.remappedRowsCorrectable !== null || health.remappedRowsUncorrectable !== null) {
    parts.push(
      `Rows remapped to spares: ${count(health.remappedRowsUncorrectable)} for uncorrectable, ${count(health.remappedRowsCorrectable)} for correctable errors.`,
    );
  }
  if (health.retiredPagesSingleBit !== null || health.retiredPagesDoubleBit !== null) {
    parts.push(`Retired pages: ${count(health.retiredPagesDoubleBit)} double-bit, ${count(health.retiredPagesSingleBit)} single-bit.`);
  }
  return parts.join(" ");
}
