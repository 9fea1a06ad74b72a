import { formatBytes } from "../telemetry/format-bytes";
/**
 * Display units. `null` means the card did not report the value, so it reads
 * "n/a" and is never shown as 0.
 */

export const NA = "n/a";

const num = (value: number | null | undefined, digits: number): string | null =>
  value === null || value === undefined || !Number.isFinite(value) ? null : value.toFixed(digits);

const withUnit = (text: string | null, unit: string) => (text === null ? NA : `${text} ${unit}`);

/** Watts: one decimal below 100 W where it still says something; none above, nor for whole numbers (axis ticks). */
export const watts = (value: number | null | undefined) =>
  withUnit(num(value, value !== null && value !== undefined && Math.abs(value) < 100 && !Number.isInteger(value) ? 1 : 0), "W");

export const megahertz = (value: number | null | undefined) => withUnit(num(value, 0), "MHz");

export const celsius = (value: number | null | undefined) => withUnit(num(value, 0), "°C");

export const percent = (value: number | null | undefined) => withUnit(num(value, 0), "%");

export const mibToGib = (mib: number | null | undefined): number | null => (mib === null || mib === undefined ? null : mib / 1024);

export const gibFromMib = (mib: number | null | undefined, digits = 1) => withUnit(num(mibToGib(mib), digits), "GiB");

/** Bytes in the binary unit that keeps 1-4 significant digits. */
export const bytes = (value: number | null | undefined) => formatBytes(value, NA);

export const integer = (value: number | null | undefined) =>
  value === null || value === undefined ? NA : Math.round(value).toLocaleString("en-US");

const pad = (n: number) => String(n).padStart(2, "0");

/** Local date and time, fixed format so it reads the same in every browser locale. */
export function dateTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined) return NA;
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function clockTime(epochMs: number | null | undefined): string {
  if (epochMs === null || epochMs === undefined) return NA;
  const d = new Date(epochMs);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "3 min ago", "2 h ago": how stale a reading is at a glance. */
export function ago(epochMs: number | null | undefined, now: number): string {
  if (epochMs === null || epochMs === undefined) return NA;
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400 * 2) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** Share of `max` in 0..1 for meters; null when either side is unknown. */
export function share(value: number | null | undefined, max: number | null | undefined): number | null {
  if (value === null || value === undefined || max === null || max === undefined || max <= 0) return null;
  return Math.min(1, Math.max(0, value / max));
}
