import { bytes } from "../../lib/format";

/** Pruning starts when the file passes this share of its cap (retention.ts DEFAULT_WATER_MARKS). */
const HIGH_WATER = 0.9;

export function SizeBar({ fileBytes, maxBytes }: { fileBytes: number | null; maxBytes: number }) {
  const fraction = fileBytes === null || maxBytes <= 0 ? null : Math.min(1, fileBytes / maxBytes);
  const tone = fraction === null ? "ok" : fraction >= HIGH_WATER ? "bad" : fraction >= 0.7 ? "warn" : "ok";
  return (
    <div className="size">
      <p className="size-text">
        <strong data-testid="db-size">{bytes(fileBytes)}</strong> <span className="muted">of {bytes(maxBytes)} cap</span>
        {fraction !== null && (
          <span className="muted"> · {fraction < 0.001 ? "under 0.1" : (fraction * 100).toFixed(fraction < 0.1 ? 1 : 0)} %</span>
        )}
      </p>
      <div
        className={`size-bar meter-${tone}`}
        role="meter"
        aria-label="Database file size against its cap"
        aria-valuemin={0}
        aria-valuemax={maxBytes}
        aria-valuenow={fileBytes ?? undefined}
      >
        <span className="meter-fill" style={{ width: `${((fraction ?? 0) * 100).toFixed(2)}%` }} />
        <span className="size-mark" style={{ left: `${HIGH_WATER * 100}%` }} title="Oldest data is trimmed past this mark" />
      </div>
    </div>
  );
}
