/** The periods storage cuts time into: minutes, 10-minute chunk slots, hours and UTC days, all aligned to the epoch. */

import { DAY_MS, HOUR_MS } from "../../telemetry/durations";

export { DAY_MS, HOUR_MS };

/** The finest period summaries are kept for (per chunk, see minute-summaries.ts). */
export const MINUTE_MS = 60_000;

export const slotStart = (timestamp: number, slotMs: number) => Math.floor(timestamp / slotMs) * slotMs;
