import { share } from "../lib/format";

/** A thin bar for "value against its limit"; unknown limits draw nothing rather than a wrong bar. */
export function Meter({
  value,
  max,
  label,
  tone,
}: {
  value: number | null;
  max: number | null;
  label: string;
  tone?: "ok" | "warn" | "bad";
}) {
  const fraction = share(value, max);
  if (fraction === null) return <span className="meter meter-empty" aria-hidden="true" />;
  const autoTone = tone ?? (fraction >= 0.95 ? "warn" : "ok");
  return (
    <span
      className={`meter meter-${autoTone}`}
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max ?? undefined}
      aria-valuenow={value ?? undefined}
    >
      <span className="meter-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
    </span>
  );
}
