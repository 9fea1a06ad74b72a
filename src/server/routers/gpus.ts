import { publicProcedure, router } from "../trpc/trpc";
import { onlySelected, uuidOf } from "./gpu-selection";
import { oneOrAllGpusInput } from "../api/inputs";

export const gpusRouter = router({
  /**
   * Every GPU seen, with its static facts and when it was last seen. Answers from
   * the collector alone while the database is down, so the live page still knows its GPUs.
   */
  list: publicProcedure.query(({ ctx }) => {
    const online = new Set(ctx.collector.gpus().map((g) => g.uuid));
    const store = ctx.storage.store;
    if (!store) {
      const lastSampleAt = ctx.collector.status().lastSampleAt;
      return ctx.collector.gpus().map((gpu) => ({ ...gpu, firstSeen: null, lastSeen: lastSampleAt, online: true }));
    }
    // The store holds every GPU row, with the newest lastSeen (the row on disk is refreshed only once a minute).
    return store.gpus().map(({ id: _id, ...gpu }) => ({ ...gpu, online: online.has(gpu.uuid) }));
  }),

  /**
   * The compute processes on each GPU now (pid, name, memory, user, command line),
   * shared for two seconds between callers. Needs no database.
   */
  processes: publicProcedure.input(oneOrAllGpusInput).query(async ({ ctx, input }) => {
    const uuid = uuidOf(ctx, input);
    const listing = await ctx.processes.current();
    return { ...listing, processes: onlySelected(listing.processes, uuid) };
  }),

  /**
   * Each GPU's memory error counters now: ECC errors (since the driver loaded and
   * over the card's life), rows remapped to spares, retired pages. Shared for ten
   * seconds between callers. Needs no database.
   */
  memoryHealth: publicProcedure.input(oneOrAllGpusInput).query(async ({ ctx, input }) => {
    const uuid = uuidOf(ctx, input);
    const listing = await ctx.memoryHealth.current();
    return { ...listing, gpus: onlySelected(listing.gpus, uuid) };
  }),

  /**
   * The Xid errors the driver reported since the recorder started (the newest
   * hundred), newest first, with what each means. Only the NVML source can see them.
   */
  xidErrors: publicProcedure.input(oneOrAllGpusInput).query(({ ctx, input }) => {
    const listing = ctx.xidErrors.current();
    return { ...listing, events: onlySelected(listing.events, uuidOf(ctx, input)) };
  }),
});
