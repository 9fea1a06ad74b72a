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
