"use client";
import { onlineManager } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { LiveEvent, LiveSnapshot } from "../../lib/api-types";
import { connectionState, retryDelay, type ConnectionState } from "../../lib/connection-state";
import { RollingWindow } from "../../lib/rolling-window";
import { useTRPC } from "../../lib/trpc";

/**
 * The one live subscription of the tab. Browsers allow about six SSE
 * connections per host across all tabs, so every page and the navigation
 * share this one instead of opening their own.
 */

interface LiveConnection {
  state: ConnectionState;
  /** Since when it has not been connected (epoch ms); null while connected. */
  troubleSince: number | null;
  /** Failed tries in a row. */
  failures: number;
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
  const [failures, setFailures] = useState(0);
  useEffect(() => {
    if (status === "pending") {
      setEverConnected(true);
      setTroubleSince(null);
      setFailures(0);
    } else {
      setTroubleSince((since) => since ?? Date.now());
      if (status === "error") setFailures((n) => n + 1);
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
    // Backing off: a recorder that is away for long is not asked every few seconds, nor is the console filled.
    const timer = setTimeout(reset, retryDelay(failures));
    return () => clearTimeout(timer);
  }, [status, reset, failures]);

  // A stream that worked and dropped means the recorder is away: every poll and retry would only fail
  // (and log) too, so queries wait, and refetch once the stream is back. A stream that never connected
  // (a proxy that does not pass it) says nothing about the rest, so it pauses nothing.
  const recorderAway = everConnected && status !== "pending";
  useEffect(() => {
    onlineManager.setOnline(!recorderAway);
  }, [recorderAway]);

  const browserOnline = useBrowserOnline();
  const state = connectionState({ status, everConnected, troubleSince, browserOnline, now: Date.now() });
  const connection = useMemo<LiveConnection>(() => ({ state, troubleSince, failures }), [state, troubleSince, failures]);
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
