import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../routers/_app";
import { clockEventReasonWords, decodeClockEventReasons } from "../../telemetry/clock-event-reasons";
import { catalogueRecord, type RestNameOf } from "../../telemetry/metric-catalogue";
import { METRIC_KEYS, type GpuMetrics, type MetricKey } from "../../telemetry/types";
import { compileFunction, perMetric } from "../per-metric-code";
import { boundedMemo } from "./bounded-memo";
import { camelToSnake } from "../http/errors";

/**
 * What the tRPC procedures return, in the shapes plain HTTP clients expect:
 * snake_case keys, ISO-8601 UTC timestamps, nulls kept (null = not reported).
 * The REST paths, the export and the WebSocket stream share these shapes.
 */

type Outputs = inferRouterOutputs<AppRouter>;

/** The public name of every stored metric, by key. */
export const METRIC_FIELDS = catalogueRecord((metric) => metric.restName) as { readonly [K in MetricKey]: RestNameOf<K> };

/** One reading of one GPU, as every telemetry path hands it out. */
export interface SampleSource extends GpuMetrics {
  gpuIndex: number;
  gpuUuid: string;
  gpuName: string;
  timestamp: number;
}

export type SampleRecord = {
  gpu_index: number;
  gpu_uuid: string;
  gpu_name: string;
  timestamp: string;
} & { [K in MetricKey as RestNameOf<K>]: number | null } & {
  /** Each reason as a flag (idle, sw_power_cap, hw_slowdown, thermal, boost_active, ...); null when the mask is unknown. */
  clock_event_reasons_decoded: Record<string, boolean> | null;
  /** The same as short words for display, e.g. ["idle"] or ["SW power cap"]. */
  clock_event_reason_words: string[];
};

/** Columns of the CSV export: the record without the decoded flags, the words joined by "; ". */
export const CSV_COLUMNS = [
  "gpu_index",
  "gpu_uuid",
  "gpu_name",
  "timestamp",
  ...METRIC_KEYS.map((k) => METRIC_FIELDS[k]),
  "clock_event_reason_words",
] as const;

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

type DecodedReasons = { decoded: Record<string, boolean> | null; words: string[] };

/** A GPU shows only a handful of masks, so each is decoded once and shared by every record carrying it. */
export const reasonsOf = boundedMemo(1024, (mask: number | null): DecodedReasons => {
  const decoded = decodeClockEventReasons(mask);
  return {
    decoded:
      decoded && Object.freeze(Object.fromEntries(Object.entries(decoded).map(([reason, active]) => [camelToSnake(reason), active]))),
    words: Object.freeze(clockEventReasonWords(mask)) as string[],
  };
});

/**
 * Written out field by field, from the catalogue: a literal of fixed shape builds
 * and serialises several times faster than keys added in a loop, which matters
 * for a 10,000-record history or a long export.
 */
export const sampleRecord = compileFunction<(sample: SampleSource) => SampleRecord>(
  "sampleRecord",
  ["sample"],
  `const reasons = reasonsOf(sample.clockEventReasons);
return {
  gpu_index: sample.gpuIndex,
  gpu_uuid: sample.gpuUuid,
  gpu_name: sample.gpuName,
  timestamp: iso(sample.timestamp),
${perMetric((metric) => `  ${metric.restName}: sample.${metric.key},`)}
  clock_event_reasons_decoded: reasons.decoded,
  clock_event_reason_words: reasons.words,
};`,
  { iso, reasonsOf },
);

export function statsRecord(stats: Outputs["telemetry"]["stats"]) {
  return {
    gpu_index: stats.gpuIndex,
    gpu_uuid: stats.gpuUuid,
    hours: stats.hours,
    record_count: stats.recordCount,
    first_timestamp: iso(stats.firstTimestamp),
    last_timestamp: iso(stats.lastTimestamp),
    temperature: stats.temperature,
    power_draw: stats.powerDraw,
    utilization_avg: stats.utilizationAvg,
    core_clock_avg: stats.graphicsClockAvg,
    memory_clock_avg: stats.memoryClockAvg,
    clock_reasons: Object.fromEntries(Object.entries(stats.clockReasons).map(([reason, share]) => [camelToSnake(reason), share])),
  };
}

export function databaseStatsRecord(stats: Outputs["database"]["stats"]) {
  const prune = stats.lastPrune;
  return {
    total_records: stats.totalRecords,
    per_gpu: stats.perGpu.map((gpu) => ({
      gpu_index: gpu.gpuIndex,
      gpu_uuid: gpu.gpuUuid,
      gpu_name: gpu.gpuName,
      records: gpu.records,
      oldest: iso(gpu.oldest),
      newest: iso(gpu.newest),
    })),
    oldest: iso(stats.oldest),
    newest: iso(stats.newest),
    path: stats.path,
    file_bytes: stats.fileBytes,
    max_bytes: stats.maxBytes,
    retention_days: stats.retentionDays,
    last_prune: prune && {
      at: iso(prune.at),
      reason: prune.reason,
      deleted_chunks: prune.deletedChunks,
      deleted_samples: prune.deletedSamples,
      bytes_before: prune.bytesBefore,
      bytes_after: prune.bytesAfter,
      duration_ms: prune.durationMs,
      error: prune.error,
    },
  };
}

export function processesRecord(listing: Outputs["gpus"]["processes"]) {
  return {
    at: iso(listing.at),
    supported: listing.supported,
    error: listing.error,
    processes: listing.processes.map((p) => ({
      gpu_index: p.gpuIndex,
      gpu_uuid: p.gpuUuid,
      pid: p.pid,
      name: p.processName,
      /** MiB, as nvidia-smi's used_memory. */
      used_memory: p.usedMemoryMib,
      user: p.user,
      command: p.command,
    })),
  };
}

export function memoryHealthRecord(listing: Outputs["gpus"]["memoryHealth"]) {
  return {
    at: iso(listing.at),
    supported: listing.supported,
    error: listing.error,
    gpus: listing.gpus.map((g) => ({
      gpu_index: g.gpuIndex,
      gpu_uuid: g.gpuUuid,
      ecc_enabled: g.eccEnabled,
      /** Since the driver loaded, as nvidia-smi's ecc.errors.*.volatile.total. */
      ecc_errors_corrected_volatile: g.eccCorrectedVolatile,
      ecc_errors_uncorrected_volatile: g.eccUncorrectedVolatile,
      /** Over the card's life, as ecc.errors.*.aggregate.total. */
      ecc_errors_corrected_aggregate: g.eccCorrectedAggregate,
      ecc_errors_uncorrected_aggregate: g.eccUncorrectedAggregate,
      remapped_rows_correctable: g.remappedRowsCorrectable,
      remapped_rows_uncorrectable: g.remappedRowsUncorrectable,
      remapped_rows_pending: g.rowRemapPending,
      remapped_rows_failure: g.rowRemapFailure,
      retired_pages_single_bit: g.retiredPagesSingleBit,
      retired_pages_double_bit: g.retiredPagesDoubleBit,
      retired_pages_pending: g.retiredPagesPending,
    })),
  };
}

export function xidErrorsRecord(listing: Outputs["gpus"]["xidErrors"]) {
  return {
    supported: listing.supported,
    events: listing.events.map((e) => ({ at: iso(e.at), gpu_index: e.gpuIndex, gpu_uuid: e.gpuUuid, xid: e.xid, meaning: e.meaning })),
  };
}

/** One event of the event log: snake_case, its time in ISO-8601, its particulars' keys snake_case too. */
export function eventRecord(event: Outputs["events"]["list"]["events"][number]) {
  return {
    at: iso(event.at),
    kind: event.kind,
    gpu_index: event.gpuIndex,
    gpu_uuid: event.gpuUuid,
    detail: Object.fromEntries(Object.entries(event.detail).map(([key, value]) => [camelToSnake(key), value])),
    message: event.message,
  };
}

export function eventsRecord(listing: Outputs["events"]["list"]) {
  return { from: iso(listing.from), to: iso(listing.to), events: listing.events.map(eventRecord) };
}
