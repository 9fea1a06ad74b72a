import { HOUR_MS } from "../../telemetry/durations";
import { idleHoldersInput, usageSessionsInput, usageSummaryInput } from "../api/inputs";
import { idleHolderViews, sessionView, usageSummary } from "../api/usage-report";
import { IDLE_MEMORY_MIB, IDLE_UTILIZATION_PCT } from "../collector/session-tracker";
import type { Context } from "../trpc/context";
import type { SessionGrouping } from "../storage/process-sessions";
import { publicProcedure, router } from "../trpc/trpc";
import type { GpuSelection } from "./gpu-selection";
import { storedGpuOf } from "./telemetry";
import { gpuPlaces } from "./gpu-places";

/** The longest idle first: a list a person reads; more than this is a box to look at anyway. */
const MAX_IDLE_HOLDERS = 1000;

export const usageRouter = router({
  /**
   * The process sessions overlapping the window (the last `hours`, or from-to), the most recently seen
   * first, `limit` from `cursor` on; nextCursor asks for the next page (null
   * after the last), total counts them all.
   */
  sessions: publicProcedure.input(usageSessionsInput).query(({ ctx, input }) => {
    const { sessionsOf, placeOf, from, to } = usageWindow(ctx, input, input, input.user);
    const { sessions, total } = sessionsOf.page(input.limit, input.cursor);
    const nextCursor = input.cursor + sessions.length < total ? input.cursor + sessions.length : null;
    return { from, to, total, nextCursor, sessions: sessions.map((s) => sessionView(s, placeOf(s.gpuId))) };
  }),

  /** GPU-hours, busy GPU-hours, peak memory and energy over the window, by user, process name or GPU, and in all. */
  summary: publicProcedure.input(usageSummaryInput).query(({ ctx, input }) => {
    const { sessionsOf, placeOf, from, to } = usageWindow(ctx, input, input, input.user);
    return { from, to, by: input.by, ...usageSummary(sessionsOf.sums(input.by), placeOf, input.by) };
  }),

  /**
   * Sessions of the window that held more than 1 GiB while their GPU stayed
   * under 5 % utilization for `minutes` or more (their longest such stretch), the longest first, at most 1000.
   */
  idleHolders: publicProcedure.input(idleHoldersInput).query(({ ctx, input }) => {
    const { sessionsOf, placeOf, from, to } = usageWindow(ctx, input, input, undefined);
    return {
      from,
      to,
      rule: { memoryOverMib: IDLE_MEMORY_MIB, utilizationUnderPct: IDLE_UTILIZATION_PCT, minutes: input.minutes },
      holders: idleHolderViews(sessionsOf.idle(input.minutes * 60_000, MAX_IDLE_HOLDERS), placeOf),
    };
  }),
});

/** The window asked for (from-to, or the last `hours`), the sessions in it of the GPU and user asked about, and where each GPU is now. */
export function usageWindow(
  ctx: Pick<Context, "collector" | "storage">,
  selection: GpuSelection,
  asked: { hours: number; from?: number; to?: number },
  user: string | undefined,
) {
  const { store, gpuId } = storedGpuOf(ctx, selection);
  const to = asked.to ?? Date.now();
  const from = asked.from ?? to - asked.hours * HOUR_MS;
  const window = { from, to, gpuId, user };
  const placeOf = gpuPlaces(ctx, store);
  return {
    from,
    to,
    placeOf,
    sessionsOf: {
      page: (limit: number, offset: number) => store.sessions.page(window, limit, offset),
      after: (afterId: number, limit: number) => store.sessions.after(window, afterId, limit),
      sums: (by: SessionGrouping) => store.sessions.sums(window, by),
      idle: (minMs: number, limit: number) => store.sessions.idle(window, minMs, limit),
    },
  };
}
