/** Milliseconds in an hour and in a day, for every part that turns hours and days into epoch-ms spans. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
