/**
 * The history page's range and GPU as URL search parameters, so a view can
 * be bookmarked and shared: `?gpu=GPU-1a2b...&range=24h` or
 * `?gpu=GPU-1a2b...&range=custom&from=<ms>&to=<ms>`. Older links name the GPU
 * by index (`?gpu=0`): they show the GPU at that index now.
 */
import { HOUR_MS } from "../telemetry/durations";

export const RANGE_PRESETS = [
  { id: "1h", label: "1 h", hours: 1 },
  { id: "6h", label: "6 h", hours: 6 },
  { id: "24h", label: "24 h", hours: 24 },
  { id: "7d", label: "7 d", hours: 7 * 24 },
  { id: "30d", label: "30 d", hours: 30 * 24 },
  { id: "90d", label: "90 d", hours: 90 * 24 },
] as const;

export type PresetId = (typeof RANGE_PRESETS)[number]["id"];

export const DEFAULT_PRESET: PresetId = "24h";

/** The server refuses windows longer than its retention ceiling, which is the longest preset. */
export const MAX_RANGE_HOURS = RANGE_PRESETS[RANGE_PRESETS.length - 1].hours;

export type RangeSelection = { kind: "preset"; preset: PresetId } | { kind: "custom"; from: number; to: number };

/** A GPU as a link names it: by UUID, or by index in links made before UUIDs. */
export type GpuRef = { uuid: string } | { index: number };

export interface HistoryParams {
  /** null: none chosen yet, the page picks the first GPU it knows. */
  gpu: GpuRef | null;
  range: RangeSelection;
}

interface ParamSource {
  get(name: string): string | null;
}

const isPreset = (value: string | null): value is PresetId => RANGE_PRESETS.some((p) => p.id === value);

const wholeNumber = (text: string | null): number | null => {
  if (text === null || !/^\d+$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
};

export function presetHours(preset: PresetId): number {
  return RANGE_PRESETS.find((p) => p.id === preset)!.hours;
}

/** A custom range the server will accept, or the reason it would not. */
export function checkCustomRange(from: number, to: number): string | null {
  if (!Number.isFinite(from) || !Number.isFinite(to)) return "both ends need a date and time";
  if (to <= from) return "the end must be after the start";
  if (to - from > MAX_RANGE_HOURS * HOUR_MS) return `a range can span at most ${MAX_RANGE_HOURS / 24} days`;
  return null;
}

/** The same text the server accepts as a UUID (printable, no spaces, at most 128 characters). */
const UUID_TEXT = /^[\x21-\x7e]{1,128}$/;

function gpuRefOf(text: string | null): GpuRef | null {
  if (text === null) return null;
  if (/^\d+$/.test(text)) {
    const index = wholeNumber(text);
    return index === null ? null : { index };
  }
  return UUID_TEXT.test(text) && !/^[+-]?\d/.test(text) ? { uuid: text } : null;
}

/** Anything unreadable in the URL falls back to the defaults rather than an error page. */
export function parseHistoryParams(params: ParamSource): HistoryParams {
  const gpu = gpuRefOf(params.get("gpu"));
  const from = wholeNumber(params.get("from"));
  const to = wholeNumber(params.get("to"));
  const rangeParam = params.get("range");
  if (from !== null && to !== null && (rangeParam === null || rangeParam === "custom") && checkCustomRange(from, to) === null) {
    return { gpu, range: { kind: "custom", from, to } };
  }
  return { gpu, range: { kind: "preset", preset: isPreset(rangeParam) ? rangeParam : DEFAULT_PRESET } };
}

/**
 * Links made now name the GPU by UUID: an index may be another GPU's by the time the link is opened.
 * A page over every GPU (usage) names none.
 */
export function historySearch(view: { gpu: GpuRef | null; range: RangeSelection }): string {
  const params = new URLSearchParams();
  if (view.gpu !== null) params.set("gpu", "uuid" in view.gpu ? view.gpu.uuid : String(view.gpu.index));
  if (view.range.kind === "preset") params.set("range", view.range.preset);
  else {
    params.set("range", "custom");
    params.set("from", String(view.range.from));
    params.set("to", String(view.range.to));
  }
  return params.toString();
}

/** The time window a selection covers; presets end at `now`. */
export function windowOf(range: RangeSelection, now: number): { from: number; to: number } {
  return range.kind === "custom" ? { from: range.from, to: range.to } : { from: now - presetHours(range.preset) * HOUR_MS, to: now };
}

/**
 * Export takes "the last N hours": a custom range is covered by the hours from its
 * start until now (the file may hold a little more than the range, never less).
 */
export function exportHours(range: RangeSelection, now: number): number {
  if (range.kind === "preset") return presetHours(range.preset);
  const hours = Math.ceil((now - range.from) / HOUR_MS);
  return Math.min(MAX_RANGE_HOURS, Math.max(1, hours));
}

export function exportUrl(format: "csv" | "json", gpu: GpuRef, hours: number): string {
  const params = new URLSearchParams({ format });
  if ("uuid" in gpu) params.set("gpu_uuid", gpu.uuid);
  else params.set("gpu_index", String(gpu.index));
  params.set("hours", String(hours));
  return `/api/telemetry/export?${params}`;
}

/** Window of half or twice the span around `middle` (the window's own by default), kept inside `bounds`. */
export function scaleWindow(
  window: { from: number; to: number },
  factor: number,
  bounds: { from: number; to: number },
  middle = (window.from + window.to) / 2,
  minSpan = 60_000,
): { from: number; to: number } {
  const span = Math.min(bounds.to - bounds.from, Math.max(minSpan, (window.to - window.from) * factor));
  let from = middle - span / 2;
  let to = middle + span / 2;
  if (from < bounds.from) [from, to] = [bounds.from, bounds.from + span];
  if (to > bounds.to) [from, to] = [bounds.to - span, bounds.to];
  return { from: Math.round(from), to: Math.round(to) };
}
