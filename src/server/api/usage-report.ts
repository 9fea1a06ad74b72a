import type { StoredSession } from "../storage/process-sessions";
import type { GpuPlace } from "../routers/gpu-places";

/**
 * What the usage API makes of stored process sessions: each one as the API
 * shows it, totals by user, process or GPU over a window, and the idle holders.
 * Totals count the part of each session inside the window: its GPU time, busy
 * time and energy in proportion to the share of its span the window covers
 * (a session inside the window counts whole); its peak memory as it is.
 */

const HOUR_S = 3600;
const WH_J = 3600;

export type UsageGrouping = "user" | "process" | "gpu";

export function sessionView(session: StoredSession, gpu: GpuPlace) {
  return {
    id: session.id,
    gpuIndex: gpu.gpuIndex,
    gpuUuid: gpu.gpuUuid,
    pid: session.pid,
    processName: session.processName,
    command: session.command,
    user: session.user,
    container: session.container,
    startedAt: session.startedAt,
    lastSeenAt: session.lastSeen,
    /** Null while the process is still listed (or the recorder has not started again since it stopped). */
    endedAt: session.endedAt,
    gpuSeconds: round(session.gpuSeconds, 1),
    busySeconds: round(session.busySeconds, 1),
    peakMemoryMib: session.peakMemoryMib,
    avgMemoryMib: session.memoryReadings === 0 ? null : Math.round(session.memoryMibSum / session.memoryReadings),
    /** The process's own SM utilization, averaged over the listings; null where the source does not report it. */
    smUtilizationAvgPct: session.smUtilReadings === 0 ? null : round(session.smUtilSum / session.smUtilReadings, 1),
    energyJ: Math.round(session.energyJ),
    longestIdleS: Math.round(session.longestIdleMs / 1000),
  };
}

export type SessionView = ReturnType<typeof sessionView>;

export interface UsageTotals {
  sessions: number;
  gpuHours: number;
  busyGpuHours: number;
  /** The most memory one session held; null when no session reported memory. */
  peakMemoryMib: number | null;
  energyWh: number;
}

export interface UsageRow extends UsageTotals {
  /** The user (or "unknown"), the process name (or "unknown"), or the GPU's index (or its UUID when it has none now). */
  key: string;
  /** The GPU of a row by GPU; null in the other groupings. */
  gpuUuid: string | null;
}

interface Sums {
  sessions: number;
  gpuSeconds: number;
  busySeconds: number;
  peakMemoryMib: number | null;
  energyJ: number;
}

const UNKNOWN = "unknown";

/** The totals of the sessions overlapping [from, to] by `by`, most GPU time first, and over all of them. */
export function usageSummary(
  sessions: readonly StoredSession[],
  placeOf: (gpuId: number) => GpuPlace,
  window: { from: number; to: number },
  by: UsageGrouping,
): { rows: UsageRow[]; totals: UsageTotals } {
  const groups = new Map<string, { gpuUuid: string | null; sums: Sums }>();
  const all = emptySums();
  for (const session of sessions) {
    const place = placeOf(session.gpuId);
    const key =
      by === "user"
        ? (session.user ?? UNKNOWN)
        : by === "process"
          ? (session.processName ?? UNKNOWN)
          : (place.gpuIndex?.toString() ?? place.gpuUuid ?? UNKNOWN);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { gpuUuid: by === "gpu" ? place.gpuUuid : null, sums: emptySums() }));
    const share = shareInside(session, window);
    add(group.sums, session, share);
    add(all, session, share);
  }
  const rows = [...groups].map(([key, group]) => ({ key, gpuUuid: group.gpuUuid, ...totalsOf(group.sums) }));
  rows.sort((a, b) => b.gpuHours - a.gpuHours || a.key.localeCompare(b.key));
  return { rows, totals: totalsOf(all) };
}

/** Sessions that held memory on a GPU left idle for at least `minMs`, the longest idle first. */
export function idleHolders(sessions: readonly StoredSession[], placeOf: (gpuId: number) => GpuPlace, minMs: number) {
  return sessions
    .filter((session) => session.longestIdleMs >= minMs && session.longestIdleFrom !== null)
    .sort((a, b) => b.longestIdleMs - a.longestIdleMs || a.id - b.id)
    .map((session) => ({
      sessionId: session.id,
      ...placeOf(session.gpuId),
      pid: session.pid,
      user: session.user,
      processName: session.processName,
      container: session.container,
      /** The least memory held during the idle stretch. */
      memoryMib: session.idleMemoryMib,
      idleFrom: session.longestIdleFrom!,
      idleForS: Math.round(session.longestIdleMs / 1000),
      endedAt: session.endedAt,
    }));
}

/** The share of a session's span inside the window; 1 for a session seen once, inside it. */
function shareInside(session: StoredSession, { from, to }: { from: number; to: number }): number {
  const span = session.lastSeen - session.startedAt;
  if (span <= 0) return 1;
  const inside = Math.min(to, session.lastSeen) - Math.max(from, session.startedAt);
  return Math.max(0, Math.min(1, inside / span));
}

function emptySums(): Sums {
  return { sessions: 0, gpuSeconds: 0, busySeconds: 0, peakMemoryMib: null, energyJ: 0 };
}

function add(sums: Sums, session: StoredSession, share: number) {
  sums.sessions += 1;
  sums.gpuSeconds += session.gpuSeconds * share;
  sums.busySeconds += session.busySeconds * share;
  sums.energyJ += session.energyJ * share;
  if (session.peakMemoryMib !== null) sums.peakMemoryMib = Math.max(sums.peakMemoryMib ?? 0, session.peakMemoryMib);
}

function totalsOf(sums: Sums): UsageTotals {
  return {
    sessions: sums.sessions,
    gpuHours: round(sums.gpuSeconds / HOUR_S, 4),
    busyGpuHours: round(sums.busySeconds / HOUR_S, 4),
    peakMemoryMib: sums.peakMemoryMib,
    energyWh: round(sums.energyJ / WH_J, 3),
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
