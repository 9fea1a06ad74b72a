"use client";
import { CONNECTION_WORDS, connectionHint } from "../../lib/connection-state";
import { useLiveConnection } from "../live/live-telemetry";

export function ConnectionBadge() {
  const { state, troubleSince, failures } = useLiveConnection();
  const hint = connectionHint(state, troubleSince, failures);
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
