import { publicProcedure, router } from "../trpc/trpc";

export const healthRouter = router({
  /** Whether the recorder is alive, where its data comes from and whether it is stored. */
  status: publicProcedure.query(({ ctx }) => {
    const collector = ctx.collector.status();
    const storage = ctx.storage.status();
    return {
      ok: true as const,
      uptimeMs: Date.now() - ctx.startedAt,
      source: collector.source,
      /** True when what is shown is not a real GPU read now (simulated or replayed). */
      synthetic: collector.source.synthetic,
      collector,
      database: storage,
      gpus: ctx.collector.gpus(),
    };
  }),
});
