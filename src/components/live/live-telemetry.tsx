"use client";
import { useSubscription } from "@trpc/tanstack-react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { LiveEvent, LiveSnapshot } from "../../lib/api-types";
import { connectionState, type ConnectionState } from "../../lib/connection-state";
import { RollingWindow } from "../../lib/rolling-window";
import { useTRPC } from "../../lib/trpc";

/**
 * The one live subscription of the tab. Browsers allow about six SSE
 * connections per host across all tabs, so every page and the navigation
 * share this one instead of opening their own.
 */

interface LiveConnection {
  state: ConnectionState;
  /** Why it is not connected, when the link said. */
  problem: string | null;
}

interface LiveData {
  latest: LiveSnapshot | null;
  window: RollingWindow;
  /** Changes (at most once a second) when the rolling window has new readings. */
  windowVersion: number;
  /** Merges older readings into the rolling window. */
  seed: RollingWindow["seed"];
}

const ConnectionContext = createContext<LiveConnection | null>(null);
const DataContext = createContext<LiveData | null>(null);

/** After the link gives up (a fatal error or a closed stream), try again after this pause. */
const RESUBSCRIBE_AFTER_MS = 3000;
/** Charts redraw at this pace however fast samples arrive. */
const CHART_REFRESH_MS = 1000;

function subscribeOnline(onChange: () => void) {
  window.addEventListener("online", onChange);
  window.addEventListener("offline", onChange);
  return () => {
    window.removeEventListener("online", onChange);
    window.removeEventListener("offline", onChange);
  };
}

const useBrowserOnline = () =>
  useSyncExternalStore(
    subscribeOnline,
    () => navigator.onLine,
    () => true,
  );

export function LiveTelemetryProvider({ children }: { children: ReactNode }) {
  const trpc = useTRPC();
  const [rolling] = useState(() => new RollingWindow());
  const [latest, setLatest] = useState<LiveSnapshot | null>(null);
  const [windowVersion, setWindowVersion] = useState(0);
  const dirty = useRef(false);

  const onData = useCallback(
    (event: LiveEvent) => {
      rolling.add(event.data);
      dirty.current = true;
      setLatest(event.data);
    },
    [rolling],
  );
  const seed = useCallback<RollingWindow["seed"]>(
    (records) => {
      rolling.seed(records);
      setWindowVersion((v) => v + 1);
    },
    [rolling],
  );

  useEffect(() => {
    const timer = setInterval(() => {
      if (!dirty.current) return;
      dirty.current = false;
      setWindowVersion((v) => v + 1);
    }, CHART_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const subscription = useSubscription(trpc.telemetry.live.subscriptionOptions(undefined, { onData }));
  const { status, reset } = subscription;

  const [everConnected, setEverConnected] = useState(false);
  const [troubleSince, setTroubleSince] = useState<number | null>(null);
  const [, setTick] = useState(0);
  useEffect(() => {
    if (status === "pending") {
      setEverConnected(true);
      setTroubleSince(null);
    } else {
      setTroubleSince((since) => since ?? Date.now());
    }
  }, [status]);
  // Re-evaluate while disconnected so "reconnecting" turns into "offline" without another event.
  useEffect(() => {
    if (troubleSince === null) return;
    const timer = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [troubleSince]);
  useEffect(() => {
    if (status !== "error" && status !== "idle") return;
    const timer = setTimeout(reset, RESUBSCRIBE_AFTER_MS);
    return () => clearTimeout(timer);
  }, [status, reset]);

  const browserOnline = useBrowserOnline();
  const state = connectionState({ status, everConnected, troubleSince, browserOnline, now: Date.now() });
  const problem = subscription.error?.message ?? null;
  const connection = useMemo<LiveConnection>(() => ({ state, problem }), [state, problem]);
  const data = useMemo<LiveData>(() => ({ latest, window: rolling, windowVersion, seed }), [latest, rolling, windowVersion, seed]);

  return (
    <ConnectionContext.Provider value={connection}>
      <DataContext.Provider value={data}>{children}</DataContext.Provider>
    </ConnectionContext.Provider>
  );
}

export function useLiveConnection(): LiveConnection {
  const value = useContext(ConnectionContext);
  if (!value) throw new Error("useLiveConnection needs LiveTelemetryProvider above it");
  return value;
}

export function useLiveData(): LiveData {
  const value = useContext(DataContext);
  if (!value) throw new Error("useLiveData needs LiveTelemetryProvider above it");
  return value;
}
