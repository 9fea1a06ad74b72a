import { publicProcedure, router } from "../trpc/trpc";

export const collectorRouter = router({
  /** Source (and whether simulated), interval, samples collected/stored/dropped, failures, last sample, last error. */
  status: publicProcedure.query(({ ctx }) => ctx.collector.status()),
});
