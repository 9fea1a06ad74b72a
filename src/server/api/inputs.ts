import { z } from "zod";
import { MAX_GPUS_PER_SERIES_CALL, MAX_RECORDS_PER_REQUEST, MAX_SERIES_POINTS } from "../../telemetry/request-limits";
import { METRIC_KEYS } from "../../telemetry/types";
import { HOUR_MS } from "../../telemetry/durations";

/**
 * Input rules shared by the tRPC procedures and the REST paths, so both
 * accept and refuse exactly the same things.
 */

export const MAX_HOURS = 2160; // 90 days
export const MAX_EVENTS_PER_REQUEST = 10_000;

export const gpuIndex = z
  .number({ error: "must be a number" })
  .int("must be a whole number")
  .min(0, "must be 0 or more")
  .max(1023, "must be at most 1023");

/** As the driver spells it (GPU-1a2b3c4d-...); any printable text without spaces, as captures from other tools may differ. */
export const gpuUuid = z
  .string({ error: "must be a string (a GPU UUID such as GPU-1a2b3c4d-...)" })
  .min(1, "must not be empty")
  .max(128, "must be at most 128 characters")
  .regex(/^[\x21-\x7e]+$/, "must be a GPU UUID such as GPU-1a2b3c4d-... (printable, no spaces)");

/**
 * Which GPU: by UUID, or by index, meaning the GPU at that index now (never
 * every GPU that ever held it). Given both, they must name the same GPU; only
 * the server knows which GPU holds an index, so gpu-selection.ts checks that.
 */
export const gpuSelector = z.object({ gpuIndex: gpuIndex.optional(), gpuUuid: gpuUuid.optional() });

/** For questions about exactly one GPU. */
const oneGpu = (v: { gpuIndex?: number; gpuUuid?: string }) => v.gpuIndex !== undefined || v.gpuUuid !== undefined;
const ONE_GPU_REQUIRED = { path: ["gpuIndex"], error: "is required (or gpuUuid)" };

export const hours = z
  .number({ error: "must be a number" })
  .finite("must be a finite number")
  .min(1, "must be at least 1")
  .max(MAX_HOURS, `must be at most ${MAX_HOURS}`);

/** How many rows an answer may hold at most; `fallback` (1000) unless asked. */
const limitUpTo = (max: number, fallback = 1000) =>
  z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(max, `must be at most ${max}`)
    .default(fallback);

export const historyInput = gpuSelector.extend({
  hours: hours.default(24),
  limit: limitUpTo(MAX_RECORDS_PER_REQUEST),
});

/** The event log: one GPU, or every event (the recorder's own included) when neither gpuIndex nor gpuUuid is given. */
export const eventsInput = gpuSelector
  .extend({
    hours: hours.default(24),
    limit: limitUpTo(MAX_EVENTS_PER_REQUEST),
  })
  .default({ hours: 24, limit: 1000 });

/** One GPU, or all when neither gpuIndex nor gpuUuid is given (processes, memory health). */
export const oneOrAllGpusInput = gpuSelector.default({});

export const statsInput = gpuSelector
  .extend({
    hours: hours.default(24),
  })
  .refine(oneGpu, ONE_GPU_REQUIRED);

const epochMs = z.number({ error: "must be a number (epoch milliseconds)" }).int("must be whole milliseconds").min(0, "must be 0 or more");

/** What a series call asks of each GPU: the window, the metrics and how many buckets. */
const seriesWindow = z.object({
  from: epochMs,
  to: epochMs,
  metrics: z
    .array(z.enum(METRIC_KEYS), { error: `must be a list of: ${METRIC_KEYS.join(", ")}` })
    .min(1, "must name at least one metric")
    .max(METRIC_KEYS.length),
  maxPoints: z
    .number({ error: "must be a number" })
    .int("must be a whole number")
    .min(1, "must be at least 1")
    .max(MAX_SERIES_POINTS, `must be at most ${MAX_SERIES_POINTS}`)
    .default(500),
  /** Also each clock event reason's share of each bucket's samples. */
  clockReasons: z.boolean({ error: "must be true or false" }).default(false),
});

export type SeriesWindow = z.output<typeof seriesWindow>;

const windowRules = <T extends z.ZodType<{ from: number; to: number }>>(schema: T) =>
  schema
    .refine((v) => v.to > v.from, { path: ["to"], error: "must be after from" })
    .refine((v) => v.to - v.from <= MAX_HOURS * HOUR_MS, { path: ["to"], error: `range must be at most ${MAX_HOURS} hours` });

export const seriesInput = windowRules(gpuSelector.extend(seriesWindow.shape).refine(oneGpu, ONE_GPU_REQUIRED));

/** Several GPUs' series over the same window in one call, each GPU named as in `seriesInput`. */
export const seriesOfGpusInput = windowRules(
  seriesWindow.extend({
    gpus: z
      .array(gpuSelector.refine(oneGpu, ONE_GPU_REQUIRED), { error: "must be a list of GPUs ({ gpuIndex } or { gpuUuid })" })
      .min(1, "must name at least one GPU")
      .max(MAX_GPUS_PER_SERIES_CALL, `must name at most ${MAX_GPUS_PER_SERIES_CALL} GPUs`),
  }),
);

export const liveInput = gpuSelector
  .extend({
    /** Resume after this event id (set by the client on reconnect). */
    lastEventId: z.string({ error: "must be a string" }).max(32, "must be at most 32 characters").nullish(),
  })
  .optional();

export const pruneInput = z.object({ force: z.boolean({ error: "must be true or false" }).default(false) }).default({ force: false });

/** REST export: the history window, without a row limit (the rows are streamed). */
export const exportInput = gpuSelector.extend({
  format: z.enum(["csv", "json"], { error: "must be csv or json" }).default("csv"),
  /** The samples, or the event log of the same window. */
  kind: z.enum(["samples", "events", "sessions"], { error: "must be samples, events or sessions" }).default("samples"),
  hours: hours.default(24),
});

export const MAX_SESSIONS_PER_REQUEST = 1000;
const USAGE_HOURS = 168;

/** A user name as /etc/passwd spells it (or a numeric uid where it has none). */
const userName = z
  .string({ error: "must be a string (a user name)" })
  .min(1, "must not be empty")
  .max(256, "must be at most 256 characters");

/**
 * The usage window: the last `hours`, or from `from` to `to` (epoch ms; `to` defaults to now),
 * as the History page's custom ranges give it.
 */
const usageWindow = {
  hours: hours.default(USAGE_HOURS),
  from: epochMs.optional(),
  to: epochMs.optional(),
};
/** Names the field at fault, as the other inputs' rules do. */
function checkUsageWindow(v: { from?: number; to?: number }, ctx: z.RefinementCtx): void {
  if (v.from === undefined) {
    if (v.to !== undefined) ctx.addIssue({ code: "custom", path: ["from"], message: "is required with to" });
    return;
  }
  const to = v.to ?? Date.now();
  if (to <= v.from) ctx.addIssue({ code: "custom", path: ["to"], message: "must be after from" });
  else if (to - v.from > MAX_HOURS * HOUR_MS)
    ctx.addIssue({ code: "custom", path: ["to"], message: `range must be at most ${MAX_HOURS} hours` });
}

/** Process sessions overlapping the window, one GPU or all, one user or all, a page at a time. */
export const usageSessionsInput = gpuSelector
  .extend({
    ...usageWindow,
    user: userName.optional(),
    limit: limitUpTo(MAX_SESSIONS_PER_REQUEST, 100),
    /** Sessions to skip: the previous page's nextCursor. */
    cursor: z.number({ error: "must be a number" }).int("must be a whole number").min(0, "must be 0 or more").default(0),
  })
  .superRefine(checkUsageWindow)
  .default({ hours: USAGE_HOURS, limit: 100, cursor: 0 });

/** GPU-hours, busy GPU-hours, peak memory and energy of the window, by user, process name or GPU. */
export const usageSummaryInput = gpuSelector
  .extend({
    ...usageWindow,
    by: z.enum(["user", "process", "gpu"], { error: "must be user, process or gpu" }).default("user"),
    user: userName.optional(),
  })
  .superRefine(checkUsageWindow)
  .default({ hours: USAGE_HOURS, by: "user" });

/** Sessions that held memory on a GPU left idle for at least `minutes`, within the window. */
export const idleHoldersInput = gpuSelector
  .extend({
    ...usageWindow,
    minutes: z
      .number({ error: "must be a number" })
      .finite("must be a finite number")
      .min(0.05, "must be at least 0.05 (3 seconds)")
      .max(MAX_HOURS * 60, `must be at most ${MAX_HOURS * 60}`)
      .default(30),
  })
  .superRefine(checkUsageWindow)
  .default({ hours: USAGE_HOURS, minutes: 30 });

/** The plain WebSocket stream: seconds between snapshots, one GPU or all. */
export const streamInput = gpuSelector.extend({
  interval: z
    .number({ error: "must be a number (seconds)" })
    .finite("must be a finite number")
    .min(0.1, "must be at least 0.1")
    .max(60, "must be at most 60")
    .default(1),
});
