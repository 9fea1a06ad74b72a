import type { SessionGroupSums, SessionGrouping, StoredSession } from "../storage/process-sessions";
import type { GpuPlace } from "../routers/gpu-places";

/**
 * What the usage API makes of stored process sessions: each one as the API
 * shows it, totals by user, process or GPU over a window (summed by the store:
 * each session's GPU time, busy time and energy in proportion to the share of
 * its span the window covers, its peak memory as it is), and the idle holders.
 */

const HOUR_S = 3600;
const WH_J = 3600;

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

const UNKNOWN = "unknown";

/**
 * The groups' sums as rows, the most GPU time first, and the totals over all of
 * them. GPUs are keyed by their index now (or UUID); two stored GPUs at one index
 * (a swapped card) make one row.
 */
export function usageSummary(
  groups: readonly SessionGroupSums[],
  placeOf: (gpuId: number) => GpuPlace,
  by: SessionGrouping,
): { rows: UsageRow[]; totals: UsageTotals } {
  const merged = new Map<string, { gpuUuid: string | null; sums: SessionGroupSums }>();
  const all = emptySums();
  for (const group of groups) {
    const place = by === "gpu" ? placeOf(Number(group.key)) : null;
    const key = place ? (place.gpuIndex?.toString() ?? place.gpuUuid ?? UNKNOWN) : (group.key ?? UNKNOWN);
    let row = merged.get(key);
    if (!row) merged.set(key, (row = { gpuUuid: place?.gpuUuid ?? null, sums: emptySums() }));
    add(row.sums, group);
    add(all, group);
  }
  const rows = [...merged].map(([key, row]) => ({ key, gpuUuid: row.gpuUuid, ...totalsOf(row.sums) }));
  rows.sort((a, b) => b.gpuHours - a.gpuHours || a.key.localeCompare(b.key));
  return { rows, totals: totalsOf(all) };
}

/** Idle holders as the API shows them (the sessions come longest idle first). */
export function idleHolderViews(sessions: readonly StoredSession[], placeOf: (gpuId: number) => GpuPlace) {
  return sessions.map((session) => ({
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

function emptySums(): SessionGroupSums {
  return { key: null, sessions: 0, gpuSeconds: 0, busySeconds: 0, peakMemoryMib: null, energyJ: 0 };
}

function add(sums: SessionGroupSums, group: SessionGroupSums) {
  sums.sessions += group.sessions;
  sums.gpuSeconds += group.gpuSeconds;
  sums.busySeconds += group.busySeconds;
  sums.energyJ += group.energyJ;
  if (group.peakMemoryMib !== null) sums.peakMemoryMib = Math.max(sums.peakMemoryMib ?? 0, group.peakMemoryMib);
}

function totalsOf(sums: SessionGroupSums): UsageTotals {
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
