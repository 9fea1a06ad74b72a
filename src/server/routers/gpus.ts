import { publicProcedure, router } from "../trpc/trpc";

export const gpusRouter = router({
  /**
   * Every GPU seen, with its static facts and when it was last seen. Answers from
   * the collector alone while the database is down, so the live page still knows its GPUs.
   */
  list: publicProcedure.query(async ({ ctx }) => {
    const online = new Set(ctx.collector.gpus().map((g) => g.uuid));
    const store = ctx.storage.store;
    if (!store) {
      const lastSampleAt = ctx.collector.status().lastSampleAt;
      return ctx.collector.gpus().map((gpu) => ({ ...gpu, firstSeen: null, lastSeen: lastSampleAt, online: true }));
    }
    const rows = await ctx.storage.requirePrisma().gpu.findMany({ orderBy: [{ index: "asc" }, { id: "asc" }] });
    return rows.map(({ id: _id, firstSeen, lastSeen, ...gpu }) => ({
      ...gpu,
      firstSeen: Number(firstSeen),
      lastSeen: Number(lastSeen),
      online: online.has(gpu.uuid),
    }));
  }),
});
