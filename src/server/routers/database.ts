import { publicProcedure, router } from "../trpc/trpc";
import { pruneInput } from "./inputs";

const num = (value: bigint | number | null | undefined) => (value === null || value === undefined ? null : Number(value));
const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

export const databaseRouter = router({
  /** Records in total and per GPU, oldest and newest sample, file size against the cap, last prune. */
  stats: publicProcedure.query(async ({ ctx }) => {
    const prisma = (await ctx.storage.prisma());
    const [gpus, sealed, open, lastPrune] = await Promise.all([
      prisma.gpu.findMany({ orderBy: [{ index: "asc" }, { id: "asc" }] }),
      prisma.sampleChunk.groupBy({ by: ["gpuId"], _sum: { rowCount: true }, _min: { startTs: true }, _max: { endTs: true } }),
      prisma.recentSample.groupBy({ by: ["gpuId"], _count: { _all: true }, _min: { ts: true }, _max: { ts: true } }),
      prisma.pruneRun.findFirst({ orderBy: { id: "desc" } }),
    ]);
    const perGpu = gpus.map((gpu) => {
      const s = sealed.find((r) => r.gpuId === gpu.id);
      const o = open.find((r) => r.gpuId === gpu.id);
      return {
        gpuIndex: gpu.index,
        gpuUuid: gpu.uuid,
        gpuName: gpu.name,
        records: (s?._sum.rowCount ?? 0) + (o?._count._all ?? 0),
        oldest: minOf(num(s?._min.startTs), num(o?._min.ts)),
        newest: maxOf(num(s?._max.endTs), num(o?._max.ts)),
      };
    });
    const status = ctx.storage.status();
    return {
      totalRecords: perGpu.reduce((sum, g) => sum + g.records, 0),
      perGpu,
      oldest: perGpu.reduce<number | null>((m, g) => minOf(m, g.oldest), null),
      newest: perGpu.reduce<number | null>((m, g) => maxOf(m, g.newest), null),
      path: status.path,
      fileBytes: status.fileBytes,
      maxBytes: status.maxBytes,
      retentionDays: status.retentionMs / 86_400_000,
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
