/** The periods storage cuts time into: 10-minute chunk slots, hours and UTC days, all aligned to the epoch. */

import { DAY_MS, HOUR_MS } from "../../telemetry/durations";

export { DAY_MS, HOUR_MS };

export const slotStart = (timestamp: number, slotMs: number) => Math.floor(timestamp / slotMs) * slotMs;
