import { publicProcedure, router } from "../trpc/trpc";
import { pruneInput } from "../api/inputs";
import { DAY_MS } from "../../telemetry/durations";

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

export const databaseRouter = router({
  /** Records in total and per GPU, oldest and newest sample, file size against the cap, last prune. */
  stats: publicProcedure.query(({ ctx }) => {
    const store = ctx.storage.requireStore();
    const totals = store.sampleTotals();
    const gpus = store.gpus();
    const lastPrune = ctx.storage.lastRecordedPrune();
    const perGpu = gpus.map((gpu) => ({
      gpuIndex: gpu.index,
      gpuUuid: gpu.uuid,
      gpuName: gpu.name,
      ...(totals.get(gpu.id) ?? { records: 0, oldest: null, newest: null }),
    }));
    const status = ctx.storage.status();
    return {
      totalRecords: perGpu.reduce((sum, g) => sum + g.records, 0),
      perGpu,
      oldest: perGpu.reduce<number | null>((m, g) => minOf(m, g.oldest), null),
      newest: perGpu.reduce<number | null>((m, g) => maxOf(m, g.newest), null),
      path: status.path,
      fileBytes: status.fileBytes,
      maxBytes: status.maxBytes,
      retentionDays: status.retentionMs / DAY_MS,
      lastPrune: lastPrune
        ? {
            at: Number(lastPrune.at),
            reason: lastPrune.reason,
            deletedChunks: lastPrune.deletedChunks,
            deletedSamples: lastPrune.deletedSamples,
            bytesBefore: lastPrune.bytesBefore,
            bytesAfter: lastPrune.bytesAfter,
            durationMs: lastPrune.durationMs,
            error: lastPrune.error,
          }
        : null,
    };
  }),

  /** Runs retention and the size cap now; `force` also trims to the low-water mark. Returns what was deleted. */
  prune: publicProcedure.input(pruneInput).mutation(({ ctx, input }) => ctx.storage.prune(input.force)),
});
