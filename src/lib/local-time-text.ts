const pad = (n: number) => String(n).padStart(2, "0");

/**
 * The ends of a custom range as text in one fixed 24-hour form, local time:
 * a browser's own date-time input follows its locale (12-hour in en-US) while
 * the rest of the page reads 24-hour.
 */
export const LOCAL_FORMAT = "YYYY-MM-DD HH:MM";
export const LOCAL_PATTERN = "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}";

export function toLocalText(epochMs: number): string {
  const d = new Date(epochMs);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** Epoch ms of a local date and time, or NaN when the text is not one (a 25th hour, a 31st of April). */
export function fromLocalText(text: string): number {
  const parts = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(text.trim());
  if (!parts) return Number.NaN;
  const [year, month, day, hour, minute] = parts.slice(1).map(Number);
  const d = new Date(year, month - 1, day, hour, minute);
  const same =
    d.getFullYear() === year && d.getMonth() === month - 1 && d.getDate() === day && d.getHours() === hour && d.getMinutes() === minute;
  return same ? d.getTime() : Number.NaN;
}
