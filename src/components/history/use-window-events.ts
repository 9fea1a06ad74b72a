"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../lib/trpc";
import type { RouterOutputs } from "../../lib/api-types";
import { HOUR_MS } from "../../telemetry/durations";

/** The longest window events.list answers for (its `hours` input). */
const MAX_HOURS = 2160;

export type HistoryEvent = RouterOutputs["events"]["list"]["events"][number];

/**
 * The events of one GPU and the recorder's own (which explain gaps in every GPU's
 * history) between `from` and `to`, newest first, for the event list and the charts' markers.
 */
export function useWindowEvents(gpuUuid: string | null, from: number, to: number) {
  const trpc = useTRPC();
  const hours = Math.min(MAX_HOURS, Math.max(1, Math.ceil((Date.now() - from) / HOUR_MS)));
  const query = useQuery(trpc.events.list.queryOptions({ hours, limit: 1000 }, { placeholderData: keepPreviousData }));
  const events = (query.data?.events ?? []).filter(
    (event) => (event.gpuUuid === null || event.gpuUuid === gpuUuid) && event.at >= from && event.at <= to,
  );
  return { events, pending: query.isPending, error: query.error };
}

export type WindowEvents = ReturnType<typeof useWindowEvents>;
