/** The periods storage cuts time into: 10-minute chunk slots, hours and UTC days, all aligned to the epoch. */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const slotStart = (timestamp: number, slotMs: number) => Math.floor(timestamp / slotMs) * slotMs;
