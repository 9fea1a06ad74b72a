/** The periods storage cuts time into: summary periods, 10-minute chunk slots, hours and UTC days, all aligned to the epoch. */

import { DAY_MS, HOUR_MS } from "../../telemetry/durations";

export { DAY_MS, HOUR_MS };

/** Period summaries count time in whole minutes (period-summaries.ts). */
export const MINUTE_MS = 60_000;

/**
 * The periods a sealed chunk is summarized in: a chart bucket of a whole number of them adds up
 * summaries instead of decoding samples. Two minutes, not one: half the bytes (0.57 a snapshot
 * instead of 1.0 in summary format version 2, on 1 GPU x 90 days; bench/STORAGE.md), and two
 * days at 1000 points still get 721 four-minute buckets.
 */
export const SUMMARY_PERIOD_MS = 2 * MINUTE_MS;

export const slotStart = (timestamp: number, slotMs: number) => Math.floor(timestamp / slotMs) * slotMs;
