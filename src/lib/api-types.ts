import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../server/routers/_app";

/** Every shape the pages use comes from the router, so a server change breaks the build, not the page. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type RouterInputs = inferRouterInputs<AppRouter>;

export type GpuListItem = RouterOutputs["gpus"]["list"][number];
export type HistoryRecord = RouterOutputs["telemetry"]["history"][number];
export type TelemetryStats = RouterOutputs["telemetry"]["stats"];
export type TelemetrySeries = RouterOutputs["telemetry"]["series"];
export type SeriesMetric = RouterInputs["telemetry"]["series"]["metrics"][number];
export type PruneOutcome = RouterOutputs["database"]["prune"];
/** Whether a GPU is reporting, stale or lost, as `collector.status` says. */
export type GpuHealthStatus = RouterOutputs["collector"]["status"]["gpus"][number];

/** The processes listing of `gpus.processes`, and one process in it. */
export type ProcessListing = RouterOutputs["gpus"]["processes"];
export type GpuProcessRow = ProcessListing["processes"][number];

/** One GPU's memory error counters, as `gpus.memoryHealth` lists them. */
export type GpuMemoryHealthRow = RouterOutputs["gpus"]["memoryHealth"]["gpus"][number];

/** One Xid error of `gpus.xidErrors`. */
export type XidErrorRow = RouterOutputs["gpus"]["xidErrors"]["events"][number];

/** One event of `telemetry.live`: the snapshot and its tracked id (used to resume). */
export type LiveEvent = RouterOutputs["telemetry"]["live"] extends AsyncIterable<infer E> ? E : never;
export type LiveSnapshot = LiveEvent["data"];
export type LiveSample = LiveSnapshot["samples"][number];

/** The Fleet page's GPUs as Prometheus holds them, their hosts, and one history answer. */
export type FleetListing = RouterOutputs["fleet"]["gpus"];
export type FleetGpuRow = FleetListing["gpus"][number];
export type FleetSeries = RouterOutputs["fleet"]["series"];
export type FleetGroup = RouterInputs["fleet"]["series"]["group"];

/** The usage page's figures: `usage.summary`'s rows, `usage.sessions`' sessions and `usage.idleHolders`' holders. */
export type UsageSummary = RouterOutputs["usage"]["summary"];
export type UsageSummaryRow = UsageSummary["rows"][number];
export type UsageGrouping = UsageSummary["by"];
export type UsageSession = RouterOutputs["usage"]["sessions"]["sessions"][number];
export type IdleHolder = RouterOutputs["usage"]["idleHolders"]["holders"][number];
