/**
 * How much work one API request may ask for. The collector samples on the same
 * event loop as the API: a request that asks for millions of records holds the
 * loop for seconds (no samples stored meanwhile) and hundreds of megabytes.
 * Constants only, so the browser's and scripts' clients can split their batches
 * to fit without pulling in server code.
 */
import { CLOCK_EVENT_REASONS } from "./clock-event-reasons";
import { METRIC_KEYS } from "./types";

/** One series call's own maximum of points (buckets). */
export const MAX_SERIES_POINTS = 5000;

/** GPUs one `telemetry.seriesOfGpus` call may name (the series values limit below bounds it too). */
export const MAX_GPUS_PER_SERIES_CALL = 64;

/** Calls in one tRPC batch; clients split larger batches (httpBatchLink's maxItems). */
export const MAX_BATCH_CALLS = 16;

/** History records one request may ask for, all the calls of a batch together: one call's own maximum. */
export const MAX_RECORDS_PER_REQUEST = 10_000;

/** History records being read or sent, all requests together: more wait their turn. */
export const MAX_RECORDS_IN_FLIGHT = 4 * MAX_RECORDS_PER_REQUEST;

/** The series one call asks for: its metrics, and each clock event reason when it asks for their shares. */
export const seriesAsked = (input: { metrics: readonly unknown[]; clockReasons?: boolean }) =>
  input.metrics.length + (input.clockReasons ? CLOCK_EVENT_REASONS.length : 0);

/** Series points × series one request may ask for, all the calls of a batch together: one call's own maximum. */
export const MAX_SERIES_VALUES_PER_REQUEST = MAX_SERIES_POINTS * (METRIC_KEYS.length + CLOCK_EVENT_REASONS.length);

/**
 * Samples one series call may decode one by one; a longer range is answered from
 * stored summaries instead, with buckets of whole two-minute periods.
 */
export const MAX_DECODED_SAMPLES_PER_SERIES = 100_000;
