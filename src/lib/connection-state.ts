/**
 * What the page says about its live stream. The subscription itself only knows
 * "connecting" (which covers both the first attempt and every retry) and
 * "pending" (connected); the words a person needs also depend on whether it
 * ever worked and for how long it has not.
 */

export type ConnectionState = "connecting" | "live" | "reconnecting" | "offline";

/** Short gaps (a server restart, a proxy hiccup) read as "reconnecting"; past this, "offline". */
export const OFFLINE_AFTER_MS = 8000;

export interface ConnectionFacts {
  /** The subscription's status from useSubscription. */
  status: "idle" | "connecting" | "pending" | "error";
  /** Whether it has been connected at least once in this tab. */
  everConnected: boolean;
  /** Since when it has not been connected (epoch ms); null while connected. */
  troubleSince: number | null;
  /** The browser's own idea (navigator.onLine). */
  browserOnline: boolean;
  now: number;
}

export function connectionState(facts: ConnectionFacts): ConnectionState {
  if (facts.status === "pending") return "live";
  if (!facts.browserOnline) return "offline";
  if (facts.troubleSince !== null && facts.now - facts.troubleSince >= OFFLINE_AFTER_MS) return "offline";
  return facts.everConnected ? "reconnecting" : "connecting";
}

export const CONNECTION_WORDS: Record<ConnectionState, string> = {
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  offline: "offline",
};

/** After a failed try, the next waits twice as long as the one before, from a second up to half a minute. */
export const FIRST_RETRY_MS = 1000;
export const MAX_RETRY_MS = 30_000;

/** The pause before the next try, after `failures` failed tries in a row (0 after a stream that ended by itself). */
export function retryDelay(failures: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1));
}

const clock = (epochMs: number) => {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
};

/** The badge's tooltip: what is known, not the link's "Unknown error". */
export function connectionHint(state: ConnectionState, troubleSince: number | null, failures: number): string {
  const tries = failures === 1 ? "tried once" : `tried ${failures} times`;
  if (state === "live") return "Receiving readings as they are taken";
  if (state === "connecting" && failures === 0) return "Opening the live stream";
  if (troubleSince === null) return "Opening the live stream";
  if (state === "offline")
    return `Cannot reach the recorder since ${clock(troubleSince)} (${tries}; it keeps trying, less often as time goes on)`;
  return `The live stream dropped at ${clock(troubleSince)}; reconnecting by itself (${tries})`;
}
