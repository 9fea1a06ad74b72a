import type { UsageGrouping } from "../../lib/api-types";
import { integer } from "../../lib/format";

/** How the usage page writes its figures: hours to two decimals, so a few minutes still show. */
export const hoursText = (hours: number) => hours.toFixed(2);
export const energyText = (wh: number) => (wh >= 10_000 ? `${(wh / 1000).toFixed(1)} kWh` : `${integer(wh)} Wh`);

export const GROUPINGS: ReadonlyArray<{ by: UsageGrouping; label: string; button: string }> = [
  { by: "user", label: "User", button: "By user" },
  { by: "process", label: "Process", button: "By process" },
  { by: "gpu", label: "GPU", button: "By GPU" },
];

/** "2 h 05 min", "12 min": how long, as a person reads it. */
export function durationText(seconds: number): string {
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}
