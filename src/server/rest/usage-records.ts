import type { inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "../routers/_app";
import { iso } from "./records";

/** The usage procedures' answers as plain HTTP clients get them: snake_case keys, ISO-8601 UTC times. */

type Outputs = inferRouterOutputs<AppRouter>["usage"];

export function sessionRecord(s: Outputs["sessions"]["sessions"][number]) {
  return {
    id: s.id,
    gpu_index: s.gpuIndex,
    gpu_uuid: s.gpuUuid,
    pid: s.pid,
    process_name: s.processName,
    command: s.command,
    user: s.user,
    container: s.container,
    started_at: iso(s.startedAt),
    last_seen_at: iso(s.lastSeenAt),
    ended_at: iso(s.endedAt),
    gpu_seconds: s.gpuSeconds,
    busy_seconds: s.busySeconds,
    peak_memory_mib: s.peakMemoryMib,
    avg_memory_mib: s.avgMemoryMib,
    sm_utilization_avg_pct: s.smUtilizationAvgPct,
    energy_j: s.energyJ,
    longest_idle_s: s.longestIdleS,
  };
}

/** Every field of a session record, in order: the columns of the sessions export as CSV. */
export const SESSION_CSV_COLUMNS = [
  "id",
  "gpu_index",
  "gpu_uuid",
  "pid",
  "process_name",
  "command",
  "user",
  "container",
  "started_at",
  "last_seen_at",
  "ended_at",
  "gpu_seconds",
  "busy_seconds",
  "peak_memory_mib",
  "avg_memory_mib",
  "sm_utilization_avg_pct",
  "energy_j",
  "longest_idle_s",
] as const satisfies ReadonlyArray<keyof ReturnType<typeof sessionRecord>>;

export function sessionsRecord(page: Outputs["sessions"]) {
  return {
    from: iso(page.from),
    to: iso(page.to),
    total: page.total,
    next_cursor: page.nextCursor,
    sessions: page.sessions.map(sessionRecord),
  };
}

type Totals = Outputs["summary"]["totals"];

const totalsRecord = (t: Totals) => ({
  sessions: t.sessions,
  gpu_hours: t.gpuHours,
  busy_gpu_hours: t.busyGpuHours,
  peak_memory_mib: t.peakMemoryMib,
  energy_wh: t.energyWh,
});

export function summaryRecord(summary: Outputs["summary"]) {
  return {
    from: iso(summary.from),
    to: iso(summary.to),
    by: summary.by,
    rows: summary.rows.map((row) => ({ key: row.key, gpu_uuid: row.gpuUuid, ...totalsRecord(row) })),
    totals: totalsRecord(summary.totals),
  };
}

export function idleHoldersRecord(answer: Outputs["idleHolders"]) {
  return {
    from: iso(answer.from),
    to: iso(answer.to),
    rule: {
      memory_over_mib: answer.rule.memoryOverMib,
      utilization_under_pct: answer.rule.utilizationUnderPct,
      minutes: answer.rule.minutes,
    },
    holders: answer.holders.map((h) => ({
      session_id: h.sessionId,
      gpu_index: h.gpuIndex,
      gpu_uuid: h.gpuUuid,
      pid: h.pid,
      user: h.user,
      process_name: h.processName,
      container: h.container,
      memory_mib: h.memoryMib,
      idle_from: iso(h.idleFrom),
      idle_for_s: h.idleForS,
      ended_at: iso(h.endedAt),
    })),
  };
}
