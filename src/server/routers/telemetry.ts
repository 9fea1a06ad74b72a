import { tracked } from "@trpc/server";
import type { Snapshot } from "../collector/collector";
import { MAX_DECODED_SAMPLES_PER_SERIES } from "../../telemetry/request-limits";
import { bucketedSeries, newestRows, windowStats } from "../storage/telemetry-queries";
import type { Context } from "../trpc/context";
import { historyRecord, type HistoryRecord } from "../storage/history-record";
import { publicProcedure, router } from "../trpc/trpc";
import { liveReadingFilter, uuidOf, type FieldPath, type GpuSelection } from "./gpu-selection";
import { historyInput, liveInput, seriesInput, seriesOfGpusInput, statsInput, type SeriesWindow } from "../api/inputs";
import { seriesAnswer } from "../api/series-answer";
import { HOUR_MS } from "../../telemetry/durations";
import { gapsOfSeries, OUTAGE_EVENT_KINDS, outagesOf, type BucketedValues, type SeriesGap } from "../storage/series-gaps";
import type { TelemetryStore } from "../storage/telemetry-store";

/** More outage events than this in one window is a GPU flapping: the gaps after them go without a reason. */
const MAX_OUTAGE_EVENTS = 10_000;

/** A GPU the store has never seen simply has no data: an empty answer, not an error. */
const NO_SUCH_GPU = -1;

/** The stored GPU a selection names: its id for the queries (undefined: all GPUs), its UUID and index when known. */
export function storedGpuOf(ctx: Pick<Context, "collector" | "storage">, selection: GpuSelection, at?: FieldPath) {
  const store = ctx.storage.requireStore();
  const uuid = uuidOf(ctx, selection, at);
  if (uuid === undefined) return { store, gpuId: undefined, gpuUuid: null, gpuIndex: null };
  const gpu = uuid === null ? undefined : store.gpuByUuid(uuid);
  return { store, gpuId: gpu?.id ?? NO_SUCH_GPU, gpuUuid: uuid, gpuIndex: gpu?.index ?? selection.gpuIndex ?? null };
}

export const telemetryRouter = router({
  /** Samples of the last `hours`, newest first, all GPUs or one. */
  history: publicProcedure.input(historyInput).query(({ ctx, input }): HistoryRecord[] => {
    const { store, gpuId } = storedGpuOf(ctx, input);
    const now = Date.now();
    const rows = newestRows(store, { gpuId, from: now - input.hours * HOUR_MS, to: now }, input.limit);
    return rows.map(({ gpu, row }) => historyRecord(gpu, row));
  }),

  /** Count and min/max/avg over the last `hours` of one GPU; gpuIndex and gpuUuid say which (null: not known). */
  stats: publicProcedure.input(statsInput).query(({ ctx, input }) => {
    const { store, gpuId, gpuUuid, gpuIndex } = storedGpuOf(ctx, input);
    const now = Date.now();
    return {
      gpuIndex,
      gpuUuid,
      hours: input.hours,
      ...windowStats(store, { gpuId, from: now - input.hours * HOUR_MS, to: now }),
    };
  }),

  /**
   * Bucketed min/max/avg per metric between `from` and `to` (epoch ms), at most `maxPoints` buckets,
   * and the gaps between buckets with the reason the event log gives for each.
   */
  series: publicProcedure.input(seriesInput).query(({ ctx, input }) => seriesOf(ctx, input, input)),

  /**
   * The same for several GPUs over one window, in one call: each GPU's answer as `series` gives it,
   * in the order asked. Cheaper than a batch of `series` calls, which each take a turn of their own.
   */
  seriesOfGpus: publicProcedure.input(seriesOfGpusInput).query(({ ctx, input }) => ({
    from: input.from,
    to: input.to,
    gpus: input.gpus.map((selection, i) => seriesOf(ctx, selection, input, ["gpus", i])),
  })),

  /**
   * Every snapshot as it is collected. Each event carries the snapshot id, so a
   * client that reconnects with `lastEventId` gets what it missed (from memory).
   */
  live: publicProcedure.input(liveInput).subscription(async function* ({ ctx, input, signal }) {
    const keep = liveReadingFilter(ctx, input);
    const only = (snapshot: Snapshot): Snapshot => (keep === null ? snapshot : { ...snapshot, samples: snapshot.samples.filter(keep) });
    // Listen before backfilling so nothing falls between the two.
    const events = ctx.collector.snapshotsFromNow(signal ?? new AbortController().signal);
    try {
      let lastId = Number(input?.lastEventId ?? Number.NaN);
      // An id this run never issued comes from before a server restart (ids start again at 1): resume from now,
      // or a browser reconnecting after the restart would skip every snapshot until the new ids pass the old one.
      if (lastId > (ctx.collector.latest()?.id ?? 0)) lastId = Number.NaN;
      // A fresh subscriber gets the newest snapshot at once, a resuming one what it missed.
      const backlog = Number.isFinite(lastId) ? ctx.collector.snapshotsAfter(lastId) : [ctx.collector.latest()].filter((s) => s !== null);
      for (const snapshot of backlog) {
        lastId = snapshot.id;
        yield tracked(String(snapshot.id), only(snapshot));
      }
      // Ends when the subscription is aborted.
      for await (const snapshot of events) {
        if (Number.isFinite(lastId) && snapshot.id <= lastId) continue;
        yield tracked(String(snapshot.id), only(snapshot));
      }
    } finally {
      // Left early (the client went away during the backlog): stop listening.
      await events.return?.();
    }
  }),
});

/** One GPU's bucketed series over a window, with its gaps. */
function seriesOf(ctx: Context, selection: GpuSelection, window: SeriesWindow, at?: FieldPath) {
  const { store, gpuId, gpuUuid, gpuIndex } = storedGpuOf(ctx, selection, at);
  const series = bucketedSeries(store, { ...window, gpuId, maxRawSpanMs: MAX_DECODED_SAMPLES_PER_SERIES * ctx.config.intervalMs });
  const gaps = gpuId === undefined ? [] : gapsOf(store, gpuId, window, series, ctx.config.intervalMs);
  return seriesAnswer({ gpuIndex, gpuUuid, from: window.from, to: window.to }, series, gaps);
}

function gapsOf(
  store: TelemetryStore,
  gpuId: number,
  window: { from: number; to: number },
  series: BucketedValues,
  intervalMs: number,
): SeriesGap[] {
  if (series.t.length < 2) return [];
  return gapsOfSeries(series, intervalMs, () =>
    outagesOf(store.events.listOfKinds({ ...window, gpuId, limit: MAX_OUTAGE_EVENTS }, OUTAGE_EVENT_KINDS), window.to),
  );
}
