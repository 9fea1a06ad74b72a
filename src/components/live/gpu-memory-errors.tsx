import type { GpuMemoryHealthRow } from "../../lib/api-types";

const count = (n: number | null) => (n === null ? "n/a" : n.toLocaleString("en"));

/** Lifetime counts for the tooltip: what the card has been through, not just since the driver loaded. */
function lifetime(health: GpuMemoryHealthRow): string {
  const parts = [`Over the card's life: ${count(health.eccUncorrectedAggregate)} uncorrected, ${count(health.eccCorrectedAggregate)} corrected ECC errors.`];
  if (health.remappedRowsCorrectable !== null || health.remappedRowsUncorrectable !== null) {
    parts.push(`Rows remapped to spares: ${count(health.remappedRowsUncorrectable)} for uncorrectable, ${count(health.remappedRowsCorrectable)} for correctable errors.`);
  }
  if (health.retiredPagesSingleBit !== null || health.retiredPagesDoubleBit !== null) {
    parts.push(`Retired pages: ${count(health.retiredPagesDoubleBit)} double-bit, ${count(health.retiredPagesSingleBit)} single-bit.`);
  }
  return parts.join(" ");
}

/** How the card's memory is: unknown until read, not kept (GeForce), or ok, warn, bad. */
export function memoryErrorsState(health: GpuMemoryHealthRow | undefined): "unknown" | "not-kept" | "ok" | "warn" | "bad" {
  if (!health) return "unknown";
  if (health.eccEnabled === null && health.remappedRowsCorrectable === null && health.retiredPagesSingleBit === null) return "not-kept";
  if ((health.eccUncorrectedVolatile ?? 0) > 0 || health.rowRemapFailure) return "bad";
  if (health.rowRemapPending || health.retiredPagesPending || (health.eccCorrectedVolatile ?? 0) > 0) return "warn";
  return "ok";
}

/** What needs the owner: a failed remap, a remap waiting for a GPU reset, a page waiting for a reboot. */
function flagsOf(health: GpuMemoryHealthRow): Array<{ text: string; tone: "warn" | "bad"; why: string }> {
  const flags: Array<{ text: string; tone: "warn" | "bad"; why: string }> = [];
  if (health.rowRemapFailure) flags.push({ text: "row remap failed", tone: "bad", why: "A memory row could not be remapped: the card has no spare left where it needed one." });
  if (health.rowRemapPending) flags.push({ text: "GPU reset pending", tone: "warn", why: "A memory row remap waits for a GPU reset to take effect." });
  if (health.retiredPagesPending) flags.push({ text: "page retirement pending", tone: "warn", why: "A memory page waits for a reboot to be retired." });
  return flags;
}

/** The flags among the card's state chips, beside its clock state. */
export function MemoryErrorChips({ health }: { health: GpuMemoryHealthRow | undefined }) {
  if (!health) return null;
  return (
    <>
      {flagsOf(health).map((flag) => (
        <span key={flag.text} className={`chip chip-${flag.tone}`} title={flag.why} data-testid="memory-error-flag">
          {flag.text}
        </span>
      ))}
    </>
  );
}

/**
 * The card's memory error row: ECC errors since the driver loaded and rows
 * remapped to spares, the lifetime counts in its tooltip. Nothing at all for a
 * card that keeps none of it (GeForce), so the row never claims a health it cannot know.
 */
export function MemoryErrorsRow({ health }: { health: GpuMemoryHealthRow | undefined }) {
  const tone = memoryErrorsState(health);
  if (!health || tone === "unknown" || tone === "not-kept") return null;
  const remapped = (health.remappedRowsCorrectable ?? 0) + (health.remappedRowsUncorrectable ?? 0);
  const summary =
    health.eccEnabled === false
      ? "ECC off"
      : `${count(health.eccUncorrectedVolatile)} uncorrected · ${count(health.eccCorrectedVolatile)} corrected${remapped > 0 ? ` · ${count(remapped)} rows remapped` : ""}`;
  return (
    <>
      <dt>Memory errors</dt>
      <dd data-metric="memory-errors" className={`tone-${tone}`} title={`ECC errors since the driver loaded. ${lifetime(health)}`}>
        {summary}
      </dd>
      <dd className="bar-cell" />
    </>
  );
}
