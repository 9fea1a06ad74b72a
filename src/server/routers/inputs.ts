import { z } from "zod";
import { MAX_RECORDS_PER_REQUEST, MAX_SERIES_POINTS } from "../request-limits";
import { METRIC_KEYS } from "../sources/types";

/**
 * Input rules shared by the tRPC procedures and the REST paths, so both
 * accept and refuse exactly the same things.
 */

export const MAX_HOURS = 2160; // 90 days

export const gpuIndex = z
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(0, "must be 0 or more")
  .max(1023, "must be at most 1023");

export const hours = z
  .number({ error: "must be a number" })
  .finite("must be a finite number")
  .min(1, "must be at least 1")
  .max(MAX_HOURS, `must be at most ${MAX_HOURS}`);

export const historyInput = z.object({
  gpuIndex: gpuIndex.optional(),
  hours: hours.default(24),
  limit: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(MAX_RECORDS_PER_REQUEST, `must be at most ${MAX_RECORDS_PER_REQUEST}`)
    .default(1000),
});

/** One GPU, or all when gpuIndex is left out (processes, memory health). */
export const oneOrAllGpusInput = z.object({ gpuIndex: gpuIndex.optional() }).default({});

export const statsInput = z.object({
  gpuIndex,
  hours: hours.default(24),
});

const epochMs = z.number({ error: "must be a number (epoch milliseconds)" }).int("must be whole milliseconds").min(0, "must be 0 or more");

export const seriesInput = z
  .object({
    gpuIndex,
    from: epochMs,
    to: epochMs,
    metrics: z.array(z.enum(METRIC_KEYS), { error: `must be a list of: ${METRIC_KEYS.join(", ")}` }).min(1, "must name at least one metric").max(METRIC_KEYS.length),
    maxPoints: z.number({ error: "must be a number" }).int("must be a whole number").min(1, "must be at least 1").max(MAX_SERIES_POINTS, `must be at most ${MAX_SERIES_POINTS}`).default(500),
  })
  .refine((v) => v.to > v.from, { path: ["to"], error: "must be after from" })
  .refine((v) => v.to - v.from <= MAX_HOURS * 3_600_000, { path: ["to"], error: `range must be at most ${MAX_HOURS} hours` });

export const liveInput = z
  .object({
    gpuIndex: gpuIndex.optional(),
    /** Resume after this event id (set by the client on reconnect). */
    lastEventId: z.string({ error: "must be a string" }).max(32, "must be at most 32 characters").nullish(),
  })
  .optional();

export const pruneInput = z.object({ force: z.boolean({ error: "must be true or false" }).default(false) }).default({ force: false });

/** REST export: the history window, without a row limit (the rows are streamed). */
export const exportInput = z.object({
  format: z.enum(["csv", "json"], { error: "must be csv or json" }).default("csv"),
  gpuIndex: gpuIndex.optional(),
  hours: hours.default(24),
});

/** The plain WebSocket stream: seconds between snapshots, one GPU or all. */
export const streamInput = z.object({
  interval: z.number({ error: "must be a number (seconds)" }).finite("must be a finite number").min(0.1, "must be at least 0.1").max(60, "must be at most 60").default(1),
  gpuIndex: gpuIndex.optional(),
});
