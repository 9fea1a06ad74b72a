import { clockEventReasonWords, decodeClockEventReasons } from "../../telemetry/clock-event-reasons";
import { publicProcedure, router } from "../trpc/trpc";

export const healthRouter = router({
  /** Whether the recorder is alive, where its data comes from, whether it is stored, and the newest readings. */
  status: publicProcedure.query(({ ctx }) => {
    const collector = ctx.collector.status();
    const latest = ctx.collector.latest();
    return {
      ok: true as const,
      uptimeMs: Date.now() - ctx.startedAt,
      source: collector.source,
      /** True when what is shown is not a real GPU read now (simulated or replayed). */
      synthetic: collector.source.synthetic,
      /** True when this server was started with NVOC_TOKEN, so browsers are signed in. */
      signInRequired: ctx.config.token !== null,
      collector,
      database: ctx.storage.status(),
      gpus: ctx.collector.gpus(),
      latest: (latest?.samples ?? []).map((sample) => ({
        ...sample,
        clockEventReasonsDecoded: decodeClockEventReasons(sample.clockEventReasons),
        clockEventReasonWords: clockEventReasonWords(sample.clockEventReasons),
      })),
    };
  }),
});
