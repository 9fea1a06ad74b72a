import type { GpuSample } from "../../telemetry/types";
import type { ProcessSessionLog, SessionFigures } from "../storage/process-sessions";
import type { GpuProcessRow } from "./process-reader";

/**
 * The process sessions open now, in memory, brought up to date by each process
 * listing (who is on which GPU) and each sample (how long, how busy, how much
 * energy). The collector writes the sessions changed since its last flush with
 * that flush's samples.
 *
 * Attribution, per sampling interval of a GPU, to each process listed on it:
 * - GPU time: the interval (from the process's first listing on, when that came
 *   inside the interval).
 * - Busy time: the interval times the process's own SM utilization where the
 *   source reports it, else times the GPU's utilization split equally among
 *   the processes present.
 * - Energy: the GPU's power over the interval split by each process's share of
 *   the processes' SM utilization, or equally when there is none (or all are 0).
 * Memory and SM utilization are the newest listed; peak and average memory are
 * over the listings.
 */

/** The idle-holder rule: more than this much memory held ... */
export const IDLE_MEMORY_MIB = 1024;
/** ... while the GPU stays under this utilization. */
export const IDLE_UTILIZATION_PCT = 5;

interface TrackedSession {
  gpuUuid: string;
  /** The row once written; null before the first write. */
  rowId: number | null;
  figures: Omit<SessionFigures, "gpuId">;
  memoryMib: number | null;
  smUtilizationPct: number | null;
  /** Start and smallest memory of the idle stretch under way, if any. */
  idleFrom: number | null;
  idleMemoryMib: number | null;
}

/** What one write covered; handed back once its transaction committed. */
export interface SessionWrite {
  written: ReadonlyArray<{ session: TrackedSession; rowId: number }>;
}

/** Ended sessions waiting for a database that stays down: the oldest beyond this are dropped and counted. */
const MAX_PENDING_ENDED = 10_000;

export class SessionTracker {
  /** Ended sessions dropped unwritten because the database stayed down. */
  dropped = 0;
  /** GPU uuid, then pid. */
  private readonly open = new Map<string, Map<number, TrackedSession>>();
  private readonly lastSampleAt = new Map<string, number>();
  private readonly dirty = new Set<TrackedSession>();

  /** `maxGapMs`: a longer silence between two readings of a GPU is not attributed to anyone. */
  constructor(private readonly maxGapMs: number) {}

  /** The whole listing at `at`: processes not listed any more end at their last sight. */
  listed(at: number, processes: readonly GpuProcessRow[]) {
    const listedByGpu = new Map<string, GpuProcessRow[]>();
    for (const process of processes) {
      if (process.gpuUuid === null) continue;
      let list = listedByGpu.get(process.gpuUuid);
      if (!list) listedByGpu.set(process.gpuUuid, (list = []));
      list.push(process);
    }
    for (const [uuid, sessions] of this.open) {
      const stillListed = new Set((listedByGpu.get(uuid) ?? []).map((p) => p.pid));
      for (const [pid, session] of sessions) {
        if (stillListed.has(pid)) continue;
        session.figures.endedAt = session.figures.lastSeen;
        sessions.delete(pid);
        this.dirty.add(session);
      }
      if (sessions.size === 0) this.open.delete(uuid);
    }
    this.dropOldestEnded();
    for (const [uuid, listed] of listedByGpu) {
      let sessions = this.open.get(uuid);
      if (!sessions) this.open.set(uuid, (sessions = new Map<number, TrackedSession>()));
      for (const process of listed) {
        let session = sessions.get(process.pid);
        if (!session) sessions.set(process.pid, (session = opened(uuid, process, at)));
        noteListing(session, process, at);
        this.dirty.add(session);
      }
    }
  }

  sampled(sample: GpuSample) {
    const previous = this.lastSampleAt.get(sample.uuid);
    if (previous !== undefined && sample.timestamp <= previous) return;
    this.lastSampleAt.set(sample.uuid, sample.timestamp);
    const sessions = this.open.get(sample.uuid);
    if (!sessions || sessions.size === 0) return;
    const intervalMs = previous === undefined || sample.timestamp - previous > this.maxGapMs ? 0 : sample.timestamp - previous;
    const all = [...sessions.values()];
    const smTotal = all.every((s) => s.smUtilizationPct !== null) ? all.reduce((sum, s) => sum + s.smUtilizationPct!, 0) : 0;
    for (const session of all) {
      const share = smTotal > 0 ? session.smUtilizationPct! / smTotal : 1 / all.length;
      const seconds = Math.max(0, Math.min(intervalMs, sample.timestamp - session.figures.startedAt)) / 1000;
      const figures = session.figures;
      figures.gpuSeconds += seconds;
      if (session.smUtilizationPct !== null) figures.busySeconds += (seconds * session.smUtilizationPct) / 100;
      else if (sample.gpuUtilizationPct !== null) figures.busySeconds += (seconds * sample.gpuUtilizationPct) / 100 / all.length;
      if (sample.powerDrawW !== null) figures.energyJ += seconds * sample.powerDrawW * share;
      figures.lastSeen = Math.max(figures.lastSeen, sample.timestamp);
      noteIdle(session, sample);
      this.dirty.add(session);
    }
  }

  /**
   * Writes the sessions changed since the last write; call inside the flush's
   * transaction and hand the answer to `committed` once it is. A session of a GPU
   * not yet in the database waits for the next write.
   */
  write(log: ProcessSessionLog, gpuIdOf: (uuid: string) => number | undefined): SessionWrite {
    const written: Array<{ session: TrackedSession; rowId: number }> = [];
    for (const session of this.dirty) {
      const gpuId = gpuIdOf(session.gpuUuid);
      if (gpuId === undefined) continue;
      const row = { ...session.figures, gpuId };
      if (session.rowId === null) written.push({ session, rowId: log.insert(row) });
      else {
        log.update(session.rowId, row);
        written.push({ session, rowId: session.rowId });
      }
    }
    return { written };
  }

  /** Open sessions are as many as the processes listed; ended ones pile up only while writes fail. */
  private dropOldestEnded() {
    let excess = this.dirty.size - MAX_PENDING_ENDED;
    for (const session of this.dirty) {
      if (excess <= 0) break;
      if (session.figures.endedAt === null) continue;
      this.dirty.delete(session);
      this.dropped += 1;
      excess -= 1;
    }
  }

  committed({ written }: SessionWrite) {
    for (const { session, rowId } of written) {
      session.rowId = rowId;
      this.dirty.delete(session);
    }
  }

  get pendingCount(): number {
    return this.dirty.size;
  }

  /** Per GPU uuid: the processes listed there now and the distinct users among them. */
  present(): Map<string, { processes: number; users: number }> {
    const counts = new Map<string, { processes: number; users: number }>();
    for (const [uuid, sessions] of this.open) {
      const users = new Set([...sessions.values()].map((s) => s.figures.user ?? `pid ${s.figures.pid}`));
      counts.set(uuid, { processes: sessions.size, users: users.size });
    }
    return counts;
  }
}

function opened(gpuUuid: string, process: GpuProcessRow, at: number): TrackedSession {
  return {
    gpuUuid,
    rowId: null,
    figures: {
      pid: process.pid,
      processName: process.processName,
      command: process.command,
      user: process.user,
      container: process.container,
      startedAt: at,
      lastSeen: at,
      endedAt: null,
      peakMemoryMib: null,
      memoryMibSum: 0,
      memoryReadings: 0,
      gpuSeconds: 0,
      busySeconds: 0,
      smUtilSum: 0,
      smUtilReadings: 0,
      energyJ: 0,
      longestIdleMs: 0,
      longestIdleFrom: null,
      idleMemoryMib: null,
    },
    memoryMib: null,
    smUtilizationPct: null,
    idleFrom: null,
    idleMemoryMib: null,
  };
}

/** What a listing tells: names and owner where now known, memory and SM utilization as of now. */
function noteListing(session: TrackedSession, process: GpuProcessRow, at: number) {
  const figures = session.figures;
  figures.processName ??= process.processName;
  figures.command ??= process.command;
  figures.user ??= process.user;
  figures.container ??= process.container;
  figures.lastSeen = Math.max(figures.lastSeen, at);
  session.memoryMib = process.usedMemoryMib;
  session.smUtilizationPct = process.smUtilizationPct ?? null;
  if (process.usedMemoryMib !== null) {
    figures.peakMemoryMib = Math.max(figures.peakMemoryMib ?? 0, process.usedMemoryMib);
    figures.memoryMibSum += process.usedMemoryMib;
    figures.memoryReadings += 1;
  }
  if (session.smUtilizationPct !== null) {
    figures.smUtilSum += session.smUtilizationPct;
    figures.smUtilReadings += 1;
  }
}

/** Extends or ends the idle stretch under way, keeping the longest one. */
function noteIdle(session: TrackedSession, sample: GpuSample) {
  const holding = session.memoryMib !== null && session.memoryMib > IDLE_MEMORY_MIB;
  const quiet = sample.gpuUtilizationPct !== null && sample.gpuUtilizationPct < IDLE_UTILIZATION_PCT;
  if (!holding || !quiet) {
    session.idleFrom = null;
    session.idleMemoryMib = null;
    return;
  }
  session.idleFrom ??= sample.timestamp;
  session.idleMemoryMib = Math.min(session.idleMemoryMib ?? Infinity, session.memoryMib!);
  const stretch = sample.timestamp - session.idleFrom;
  const figures = session.figures;
  if (stretch > figures.longestIdleMs) {
    figures.longestIdleMs = stretch;
    figures.longestIdleFrom = session.idleFrom;
    figures.idleMemoryMib = session.idleMemoryMib;
  }
}
