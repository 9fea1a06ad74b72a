"use client";
import { useId, useState, type FormEvent } from "react";
import { fromLocalText, LOCAL_FORMAT, LOCAL_PATTERN, toLocalText } from "../../lib/local-time-text";
import { checkCustomRange, RANGE_PRESETS, type PresetId, type RangeSelection } from "../../lib/time-range";

const unreadable = (field: string) => `${field}: write it as ${LOCAL_FORMAT} (24-hour), e.g. 2025-03-14 18:30`;

/** One end of the range, typed as YYYY-MM-DD HH:MM. */
function LocalTimeField(props: { label: string; value: string; onChange: (value: string) => void; testId: string }) {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      <input
        type="text"
        pattern={LOCAL_PATTERN}
        placeholder={LOCAL_FORMAT}
        title={`${LOCAL_FORMAT}, 24-hour, local time`}
        size={16}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        required
        data-testid={props.testId}
      />
    </label>
  );
}

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
    setFrom(toLocalText(shown.from));
    setTo(toLocalText(shown.to));
    setProblem(null);
    setEditing((open) => !open);
  };
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const start = fromLocalText(from);
    const end = fromLocalText(to);
    const why = Number.isNaN(start) ? unreadable("From") : Number.isNaN(end) ? unreadable("To") : checkCustomRange(start, end);
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
        <form id={formId} className="custom-range" onSubmit={apply} aria-label="Custom range" noValidate>
          <LocalTimeField label="From" value={from} onChange={setFrom} testId="custom-from" />
          <LocalTimeField label="To" value={to} onChange={setTo} testId="custom-to" />
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
