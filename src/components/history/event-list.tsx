"use client";
import { dateTime } from "../../lib/format";
import type { WindowEvents } from "./use-window-events";

/**
 * What happened to this GPU and to the recorder in the window shown, newest first: Xid errors,
 * the GPU lost or silent and back, a limit, clock or driver that changed, the recorder stopping
 * and starting (what explains a gap), prune runs. `data-events` holds how many are listed.
 */
export function EventList({ events: { events, pending, error } }: { events: WindowEvents }) {
  return (
    <section className="card events" aria-labelledby="events-title">
      <h2 id="events-title" className="card-title">
        Events
      </h2>
      {error ? (
        <p className="muted small">The events could not be read: {error.message}</p>
      ) : events.length === 0 ? (
        <p className="muted small" data-events={0}>
          {pending ? "Reading the events…" : "Nothing happened in this range: no Xid errors, lost GPUs, changed limits or restarts."}
        </p>
      ) : (
        <ul className="event-list small" data-events={events.length}>
          {events.map((event) => (
            <li key={`${event.at}-${event.kind}-${event.gpuUuid ?? "recorder"}`} data-event={event.kind} data-at={event.at}>
              <time dateTime={new Date(event.at).toISOString()}>{dateTime(event.at)}</time> {event.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
