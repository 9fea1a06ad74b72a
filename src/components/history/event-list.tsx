"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { dateTime } from "../../lib/format";
import { useTRPC } from "../../lib/trpc";
import { HOUR_MS } from "../../telemetry/durations";

/** The longest window events.list answers for (its `hours` input). */
const MAX_HOURS = 2160;

/**
 * What happened to this GPU and to the recorder in the window shown, newest first: Xid errors,
 * the GPU lost or silent and back, a limit, clock or driver that changed, the recorder stopping
 * and starting (what explains a gap), prune runs. `data-events` holds how many are listed.
 */
export function EventList({ gpuUuid, from, to }: { gpuUuid: string | null; from: number; to: number }) {
  const trpc = useTRPC();
  const hours = Math.min(MAX_HOURS, Math.max(1, Math.ceil((Date.now() - from) / HOUR_MS)));
  const events = useQuery(trpc.events.list.queryOptions({ hours, limit: 1000 }, { placeholderData: keepPreviousData }));
  // The recorder's own events (no GPU) explain gaps in every GPU's history.
  const shown = (events.data?.events ?? []).filter(
    (event) => (event.gpuUuid === null || event.gpuUuid === gpuUuid) && event.at >= from && event.at <= to,
  );
  return (
    <section className="card events" aria-labelledby="events-title">
      <h2 id="events-title" className="card-title">
        Events
      </h2>
      {events.isError ? (
        <p className="muted small">The events could not be read: {events.error.message}</p>
      ) : shown.length === 0 ? (
        <p className="muted small" data-events={0}>
          {events.isPending
            ? "Reading the events…"
            : "Nothing happened in this range: no Xid errors, lost GPUs, changed limits or restarts."}
        </p>
      ) : (
        <ul className="event-list small" data-events={shown.length}>
          {shown.map((event) => (
            <li key={`${event.at}-${event.kind}-${event.gpuUuid ?? "recorder"}`} data-event={event.kind} data-at={event.at}>
              <time dateTime={new Date(event.at).toISOString()}>{dateTime(event.at)}</time> {event.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
