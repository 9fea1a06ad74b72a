"use client";
import { CONNECTION_WORDS } from "../../lib/connection-state";
import { useLiveConnection } from "../live/live-telemetry";

const HINTS = {
  connecting: "Opening the live stream",
  live: "Receiving readings as they are taken",
  reconnecting: "The live stream dropped; reconnecting by itself",
  offline: "Cannot reach the recorder; it keeps trying",
} as const;

export function ConnectionBadge() {
  const { state, problem } = useLiveConnection();
  const hint = problem && state !== "live" ? `${HINTS[state]} (${problem})` : HINTS[state];
  return (
    <span
      className={`connection connection-${state}`}
      role="status"
      aria-live="polite"
      data-testid="connection"
      data-state={state}
      title={hint}
    >
      <span className="connection-dot" aria-hidden="true" />
      {CONNECTION_WORDS[state]}
    </span>
  );
}
