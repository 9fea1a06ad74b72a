import type { GpuInfo, GpuSample } from "../../telemetry/types";

/**
 * Whether each GPU is still reporting. A GPU is `lost` while the driver answers
 * for it with an error instead of readings ("GPU is lost", "Unknown Error"), and
 * `stale` when no reading of it has arrived for `staleAfterMs` (the source went
 * silent, or the GPU dropped out of its output). Times are when the collector
 * received things, not the readings' own timestamps, so a replayed or
 * clock-skewed source is judged by the same clock that judges silence.
 */

export type GpuReportingState = "reporting" | "stale" | "lost";

export interface GpuState {
  uuid: string;
  index: number;
  state: GpuReportingState;
  /** When it stopped reporting: the first error of a lost GPU, the last reading of a stale one; null while reporting. */
  since: number | null;
  /** When its newest reading arrived (an error reading counts); null before the first. */
  lastReadingAt: number | null;
  /** Milliseconds without a reading at the time of asking (since it became known when it never reported). */
  silentMs: number;
  /** What the driver answered instead of readings, or why it counts as stale; null while reporting. */
  problem: string | null;
}

interface Tracked {
  uuid: string;
  index: number;
  knownSince: number;
  lastReadingAt: number | null;
  lostSince: number | null;
  fault: string | null;
}

export interface GpuStateChange {
  gpu: GpuState;
  previous: GpuReportingState;
}

export class GpuStateTracker {
  private readonly gpus = new Map<string, Tracked>();
  private readonly reported = new Map<string, GpuReportingState>();

  constructor(private readonly staleAfterMs: number) {}

  /** A GPU the source described; it is expected to report from now on. */
  known(info: GpuInfo, at: number) {
    const tracked = this.gpus.get(info.uuid);
    if (tracked) tracked.index = info.index;
    else
      this.gpus.set(info.uuid, { uuid: info.uuid, index: info.index, knownSince: at, lastReadingAt: null, lostSince: null, fault: null });
  }

  /** A reading arrived; `fault` is what the driver said instead of values, if it did. */
  reading(sample: GpuSample, fault: string | undefined, at: number) {
    let tracked = this.gpus.get(sample.uuid);
    if (!tracked) {
      tracked = { uuid: sample.uuid, index: sample.index, knownSince: at, lastReadingAt: null, lostSince: null, fault: null };
      this.gpus.set(sample.uuid, tracked);
    }
    tracked.index = sample.index;
    tracked.lastReadingAt = at;
    if (fault === undefined) {
      tracked.lostSince = null;
      tracked.fault = null;
    } else {
      tracked.lostSince ??= at;
      tracked.fault = fault;
    }
  }

  /** GPUs whose state differs from the last call's (a new GPU is compared with `reporting`). */
  changes(now: number): GpuStateChange[] {
    const changes: GpuStateChange[] = [];
    for (const gpu of this.states(now)) {
      const previous = this.reported.get(gpu.uuid) ?? "reporting";
      this.reported.set(gpu.uuid, gpu.state);
      if (previous !== gpu.state) changes.push({ gpu, previous });
    }
    return changes;
  }

  states(now: number): GpuState[] {
    return [...this.gpus.values()]
      .sort((a, b) => a.index - b.index)
      .map((gpu): GpuState => {
        const silentMs = now - (gpu.lastReadingAt ?? gpu.knownSince);
        const base = { uuid: gpu.uuid, index: gpu.index, lastReadingAt: gpu.lastReadingAt, silentMs };
        if (gpu.lostSince !== null) return { ...base, state: "lost", since: gpu.lostSince, problem: gpu.fault };
        if (silentMs > this.staleAfterMs) {
          const problem = gpu.lastReadingAt === null ? "no reading yet" : "no reading";
          return { ...base, state: "stale", since: gpu.lastReadingAt ?? gpu.knownSince, problem };
        }
        return { ...base, state: "reporting", since: null, problem: null };
      });
  }
}
