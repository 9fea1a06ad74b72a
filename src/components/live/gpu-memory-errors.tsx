import type { GpuMemoryHealthRow } from "../../lib/api-types";
import { memoryErrorFlags, memoryErrorsLifetime, memoryErrorsState, memoryErrorsSummary } from "../../lib/memory-errors";

/** The flags among the card's state chips, beside its clock state. */
export function MemoryErrorChips({ health }: { health: GpuMemoryHealthRow | undefined }) {
  if (!health) return null;
  return (
    <>
      {memoryErrorFlags(health).map((flag) => (
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
  return (
    <>
      <dt>Memory errors</dt>
      <dd
        data-metric="memory-errors"
        className={`tone-${tone}`}
        title={`ECC errors since the driver loaded. ${memoryErrorsLifetime(health)}`}
      >
        {memoryErrorsSummary(health)}
      </dd>
      <dd className="bar-cell" />
    </>
  );
}
