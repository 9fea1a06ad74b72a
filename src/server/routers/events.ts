import { HOUR_MS } from "../../telemetry/durations";
import { eventsInput } from "../api/inputs";
import type { Context } from "../trpc/context";
import type { GpuSelection } from "./gpu-selection";
import { eventMessage } from "../api/event-messages";
import { publicProcedure, router } from "../trpc/trpc";
import { storedGpuOf } from "./telemetry";
import { gpuPlaces } from "./gpu-places";

export const eventsRouter = router({
  /**
   * The event log of the last `hours`, newest first: Xid errors, GPUs lost, stale
   * and back, changed power and clock limits and drivers, and (when no GPU is
   * named) the recorder's starts, stops and prunes. Each with its particulars
   * (`detail`) and in words (`message`).
   */
  list: publicProcedure.input(eventsInput).query(({ ctx, input }) => listEvents(ctx, input, input.hours, input.limit)),
});

/** The events of the last `hours` of one GPU or all, newest first; `limit` -1 for every one (the export). */
export function listEvents(ctx: Pick<Context, "collector" | "storage">, selection: GpuSelection, hours: number, limit: number) {
  const { store, gpuId } = storedGpuOf(ctx, selection);
  const to = Date.now();
  const from = to - hours * HOUR_MS;
  const placeOf = gpuPlaces(ctx, store);
  const events = store.events.list({ from, to, gpuId, limit }).map((event) => {
    const place = event.gpuId === null ? { gpuIndex: null, gpuUuid: null } : placeOf(event.gpuId);
    return {
      at: event.at,
      kind: event.kind,
      ...place,
      detail: event.detail,
      message: eventMessage(event),
    };
  });
  return { from, to, events };
}
