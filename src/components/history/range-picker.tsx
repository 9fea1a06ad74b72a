"use client";
import { useId, useState, type FormEvent } from "react";
import { checkCustomRange, RANGE_PRESETS, type PresetId, type RangeSelection } from "../../lib/time-range";

const pad = (n: number) => String(n).padStart(2, "0");

/** `datetime-local` speaks local time without a zone. */
function toLocalInput(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const fromLocalInput = (value: string) => (value === "" ? Number.NaN : new Date(value).getTime());

export interface RangePickerProps {
  range: RangeSelection;
  /** The window now shown, to start a custom range from. */
  shown: { from: number; to: number };
  onChange: (range: RangeSelection) => void;
}

export function RangePicker({ range, shown, onChange }: RangePickerProps) {
  const [editing, setEditing] = useState(false);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const formId = useId();

  const openCustom = () => {
    setFrom(toLocalInput(shown.from));
    setTo(toLocalInput(shown.to));
    setProblem(null);
    setEditing((open) => !open);
  };
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const start = fromLocalInput(from);
    const end = fromLocalInput(to);
    const why = checkCustomRange(start, end);
    setProblem(why);
    if (why !== null) return;
    setEditing(false);
    onChange({ kind: "custom", from: start, to: end });
  };
  const pick = (preset: PresetId) => {
    setEditing(false);
    onChange({ kind: "preset", preset });
  };

  return (
    <div className="range-picker">
      <div className="segmented" role="group" aria-label="Time range">
        {RANGE_PRESETS.map((preset) => (
          <button
            key={preset.id}
            type="button"
            aria-pressed={range.kind === "preset" && range.preset === preset.id}
            onClick={() => pick(preset.id)}
            data-range={preset.id}
          >
            {preset.label}
          </button>
        ))}
        <button
          type="button"
          aria-pressed={range.kind === "custom"}
          aria-expanded={editing}
          aria-controls={formId}
          onClick={openCustom}
          data-range="custom"
        >
          Custom…
        </button>
      </div>
      {editing && (
        <form id={formId} className="custom-range" onSubmit={apply} aria-label="Custom range">
          <label className="field">
            <span className="field-label">From</span>
            <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} required data-testid="custom-from" />
          </label>
          <label className="field">
            <span className="field-label">To</span>
            <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} required data-testid="custom-to" />
          </label>
          <button type="submit" className="button primary">
            Show
          </button>
          {problem && (
            <p className="field-error" role="alert">
              {problem}
            </p>
          )}
        </form>
      )}
    </div>
  );
}
