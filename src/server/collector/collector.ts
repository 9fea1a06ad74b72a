import { EventEmitter } from "node:events";
import type { Logger } from "../logger";
import type { GpuSource, SourceSink, SourceStatus } from "../sources/source";
import type { GpuInfo, GpuSample } from "../../telemetry/types";
import type { StorageManager } from "../storage/storage-manager";
import type { TelemetryStore } from "../storage/telemetry-store";
import { EventRecorder } from "./event-recorder";
import type { ProcessListing } from "./process-reader";
import { SessionTracker, type SessionWrite } from "./session-tracker";
import { GpuStateTracker, type GpuState } from "./gpu-state";
import { RejectedValues, type RejectedValueCount } from "./rejected-values";
import { RepeatedFailureLog } from "./repeated-failure-log";
import { storableGpuInfo, storableSample } from "../sources/storable-readings";

/**
 * The sampling loop's hub: takes what the source produces, hands every
 * snapshot to live subscribers at once, and batches it to storage on a flush
 * timer so that a slow or failing database never holds the stream back.
 * Pending samples are bounded: when the database stays down or the disk is
 * full the oldest are dropped and counted, and writing resumes by itself.
 */

/** Most samples written in one transaction: a failing write costs no more than this, however much is pending. */
const FLUSH_BATCH = 5000;

export interface Snapshot {
  /** Increasing id, used by subscribers to resume after a reconnect. */
  id: number;
  timestamp: number;
  samples: GpuSample[];
}

export interface CollectorStatus {
  source: SourceStatus;
  intervalMs: number;
  collected: number;
  stored: number;
  dropped: number;
  pending: number;
  writeFailures: number;
  eventWriteFailures: number;
  /** When the current run of failed writes began; null while writes succeed. */
  writesFailingSince: number | null;
  lastSampleAt: number | null;
  lastStoredAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  gpuCount: number;
  /** Readings stored as missing because storage cannot hold them (non-finite, negative, beyond ±2^53), all told. */
  rejectedValues: number;
  /** The same per GPU and field, with the latest such value. */
  rejectedByField: RejectedValueCount[];
  /** Per GPU: reporting, stale (no reading for three intervals and a second) or lost (the driver answers with an error), and since when. */
  gpus: GpuState[];
  /** Events of the event log waiting for the next flush, and those dropped while the database stayed down. */
  pendingEvents: number;
  droppedEvents: number;
  /** Process sessions changed since the last write, writes of them alone (no samples pending) that failed, and ended ones dropped unwritten. */
  pendingSessions: number;
  sessionWriteFailures: number;
  droppedSessions: number;
}

/**
 * A GPU without a reading for this many intervals, and a second more, counts as
 * stale: the same limit at which the nvidia-smi source takes its process for hung.
 * The second keeps a busy event loop or a slow process start from flagging a healthy GPU.
 */
const STALE_AFTER_INTERVALS = 3;
const STALE_SLACK_MS = 1000;
/**
 * How often the processes are listed for the usage record: nvidia-smi starts a
 * process for each listing, so not every tick. Time between two listings is
 * counted from the samples, so a process is credited from its first listing to
 * its last (up to this much late at each end).
 */
export const PROCESS_LISTING_MS = 5000;
/** Sources stamp readings as they take them; one stamped later than this past now is refused, not stored ahead of time. */
const FUTURE_SLACK_MS = 1000;

export interface CollectorOptions {
  source: GpuSource;
  storage: StorageManager;
  log: Logger;
  intervalMs: number;
  /** How often pending samples are written; at most one second. */
  flushIntervalMs?: number;
  /** Upper bound on samples waiting for the database. */
  maxPending?: number;
  /** Snapshots kept in memory for subscribers that reconnect. */
  historySize?: number;
  /** The processes on each GPU, listed every PROCESS_LISTING_MS for the usage record; none recorded without. */
  processes?: { current(): Promise<ProcessListing> };
}

type Listener = (snapshot: Snapshot) => void;

export class Collector {
  /** Emits `snapshot` (a Snapshot) for every tick collected. */
  readonly events = new EventEmitter<{ snapshot: [Snapshot] }>();
  private readonly gpuInfos = new Map<string, GpuInfo>();
  private readonly recent: Snapshot[] = [];
  private pending: GpuSample[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private listingTimer: NodeJS.Timeout | null = null;
  private listing = false;
  private nextId = 1;
  private running = false;
  private sourceEnded = false;
  private counters = {
    collected: 0,
    stored: 0,
    dropped: 0,
    writeFailures: 0,
    /** Failed writes of the event log, counted apart: they hold no samples back. */
    eventWriteFailures: 0,
    sessionWriteFailures: 0,
    lastSampleAt: null as number | null,
    lastStoredAt: null as number | null,
    lastError: null as string | null,
    lastErrorAt: null as number | null,
  };
  private readonly maxPending: number;
  private readonly historySize: number;
  private readonly writeFailureLog: RepeatedFailureLog;
  private readonly dropLog: RepeatedFailureLog;
  private readonly gpuStates: GpuStateTracker;
  private readonly rejected: RejectedValues;
  private readonly eventLog: EventRecorder;
  /** The process sessions open now (session-tracker.ts). */
  readonly sessions: SessionTracker;

  constructor(private readonly options: CollectorOptions) {
    this.maxPending = options.maxPending ?? 200_000;
    this.historySize = options.historySize ?? 300;
    this.writeFailureLog = new RepeatedFailureLog({ log: options.log });
    this.dropLog = new RepeatedFailureLog({ log: options.log });
    this.gpuStates = new GpuStateTracker(STALE_AFTER_INTERVALS * options.intervalMs + STALE_SLACK_MS);
    this.rejected = new RejectedValues(options.log);
    this.eventLog = new EventRecorder(Date.now());
    this.sessions = new SessionTracker(STALE_AFTER_INTERVALS * options.intervalMs + STALE_SLACK_MS);
    // Every open dashboard tab and API stream listens here; there is no sensible fixed limit.
    this.events.setMaxListeners(0);
  }

  async start() {
    if (this.running) return;
    this.running = true;
    const flushEvery = Math.min(1000, this.options.flushIntervalMs ?? this.options.intervalMs);
    this.flushTimer = setInterval(() => {
      this.logHealthChanges();
      if (this.options.source.xidErrors) this.eventLog.xidErrors(this.options.source.xidErrors());
      this.flush();
      this.rejected.reportIfDue();
    }, flushEvery);
    const sink: SourceSink = {
      gpus: (infos) => this.acceptGpus(infos),
      samples: (samples, faults) => this.acceptSamples(samples, faults),
      ended: () => {
        this.sourceEnded = true;
        this.options.log.info("source finished: no more samples will arrive");
      },
    };
    await this.options.source.start(sink);
    // Not at once: a listing shared with API callers is best made once the GPUs, and their indexes, are known.
    if (this.options.processes && this.running) {
      this.listingTimer = setInterval(() => void this.listProcesses(), PROCESS_LISTING_MS);
    }
  }

  /** Stops sampling and writes everything still pending. */
  async stop() {
    if (!this.running) return;
    this.running = false;
    await this.options.source.stop();
    if (this.flushTimer) clearInterval(this.flushTimer);
    if (this.listingTimer) clearInterval(this.listingTimer);
    this.flushTimer = null;
    this.listingTimer = null;
    this.eventLog.stopped(Date.now());
    // A clean stop ends every session at its last sight, as the next start would.
    this.sessions.listed(Date.now(), []);
    this.flush();
  }

  /** One listing at a time; a failed one (counted and logged by the reader) changes no session. */
  private async listProcesses() {
    if (this.listing || !this.options.processes) return;
    this.listing = true;
    try {
      const listing = await this.options.processes.current();
      if (this.running && listing.supported && listing.error === null) this.sessions.listed(listing.at, listing.processes);
    } catch (error) {
      // The reader answers failures itself; this is a bug, and must not stop the recording.
      this.options.log.error({ err: error instanceof Error ? error.message : String(error) }, "tracking process sessions failed");
    } finally {
      this.listing = false;
    }
  }

  private acceptGpus(given: GpuInfo[]) {
    const now = Date.now();
    const infos = given.map(storableGpuInfo).filter((info) => info !== null);
    for (const info of infos) {
      this.gpuInfos.set(info.uuid, info);
      this.gpuStates.known(info, now);
    }
    const store = this.options.storage.store;
    this.eventLog.gpusDescribed(infos, store, now);
    this.eventLog.applicationsClocksRead(
      given.filter((info) => infos.some((stored) => stored.uuid === info.uuid)),
      now,
    );
    if (!store) return;
    try {
      store.registerGpus(infos);
    } catch (error) {
      // Not fatal: writeSamples registers them again with the next flush.
      this.recordFailure("could not record GPU facts", error);
    }
  }

  /**
   * Takes one or more ticks of samples. Live subscribers get them at once.
   * When the batch is large (bulk replay) it is written before returning, which
   * is how a fast source is held to the pace the database can take.
   */
  private acceptSamples(given: GpuSample[], faults?: ReadonlyMap<string, string>): void {
    const now = Date.now();
    const samples = this.storable(given, now);
    if (samples.length === 0) return;
    const store = this.options.storage.store;
    for (const sample of samples) {
      this.gpuStates.reading(sample, faults?.get(sample.uuid), now);
      this.eventLog.sampled(sample, store);
      this.sessions.sampled(sample);
    }
    this.counters.collected += samples.length;
    const latest = samples.reduce((max, s) => Math.max(max, s.timestamp), 0);
    this.counters.lastSampleAt = Math.max(this.counters.lastSampleAt ?? 0, latest);
    this.publish({ id: this.nextId++, timestamp: latest, samples: this.latestPerGpu(samples) });
    this.pending.push(...samples);
    if (this.pending.length > this.maxPending) {
      const excess = this.pending.length - this.maxPending;
      this.pending.splice(0, excess);
      this.counters.dropped += excess;
      this.dropLog.failed("pending buffer full", "pending buffer full: oldest samples dropped", {
        dropped: excess,
        totalDropped: this.counters.dropped,
        maxPending: this.maxPending,
      });
    }
    if (this.pending.length >= 5000) this.flush();
  }

  /**
   * The samples as storage can hold them: a value it cannot (1e20 W from a
   * misparsed cell, a negative clock) is counted and kept as missing, so it
   * never reaches the live view or stops a chunk from sealing.
   */
  private storable(samples: GpuSample[], now: number): GpuSample[] {
    const out: GpuSample[] = [];
    for (const sample of samples) {
      const stored = storableSample(sample, this.rejected.note, now + FUTURE_SLACK_MS);
      if (stored !== null) out.push(stored);
    }
    return out;
  }

  /** A bulk batch may hold many ticks; subscribers get the newest reading per GPU. */
  private latestPerGpu(samples: GpuSample[]): GpuSample[] {
    if (samples.length <= this.gpuInfos.size) return samples;
    const newest = new Map<string, GpuSample>();
    for (const s of samples) {
      const seen = newest.get(s.uuid);
      if (!seen || seen.timestamp <= s.timestamp) newest.set(s.uuid, s);
    }
    return [...newest.values()].sort((a, b) => a.index - b.index);
  }

  private publish(snapshot: Snapshot) {
    this.recent.push(snapshot);
    if (this.recent.length > this.historySize) this.recent.shift();
    try {
      this.events.emit("snapshot", snapshot);
    } catch (error) {
      this.options.log.warn({ err: String(error) }, "a live subscriber failed");
    }
  }

  /**
   * Writes pending samples, oldest first, in transactions of at most FLUSH_BATCH.
   * A failed transaction keeps its samples (and those after it) for the next flush.
   */
  flush(): number {
    const store = this.options.storage.store;
    if (!store) return 0;
    this.writeEvents(store);
    if (this.pending.length === 0) {
      this.writeSessionsAlone(store);
      return 0;
    }
    let written = 0;
    let failure: unknown = null;
    try {
      while (written < this.pending.length) {
        // The sessions go with the first batch, in its transaction: both are stored or neither.
        const sessions: { write?: SessionWrite } = {};
        const alongside = written === 0 ? () => void (sessions.write = this.writeSessions(store)) : undefined;
        written += store.writeSamples(this.pending.slice(written, written + FLUSH_BATCH), (uuid) => this.gpuInfos.get(uuid), alongside);
        if (sessions.write) this.sessions.committed(sessions.write);
      }
    } catch (error) {
      failure = error;
    }
    if (written > 0) {
      this.pending = this.pending.slice(written);
      this.counters.stored += written;
      this.counters.lastStoredAt = Date.now();
    }
    if (failure !== null) {
      this.counters.writeFailures += 1;
      this.recordFailure(`writing ${this.pending.length} samples failed`, failure);
    } else {
      this.writeFailureLog.recovered("writing samples works again", { stored: this.counters.stored, dropped: this.counters.dropped });
      this.dropLog.recovered(null);
    }
    return written;
  }

  private writeSessions(store: TelemetryStore): SessionWrite {
    return this.sessions.write(store.sessions, (uuid) => store.gpuByUuid(uuid)?.id);
  }

  /** Between samples (a source that stalls, the last flush): sessions that ended still get written. */
  private writeSessionsAlone(store: TelemetryStore) {
    if (this.sessions.pendingCount === 0) return;
    try {
      this.sessions.committed(store.db.transaction(() => this.writeSessions(store))());
    } catch (error) {
      this.counters.sessionWriteFailures += 1;
      this.recordFailure(`writing ${this.sessions.pendingCount} process sessions failed`, error);
    }
  }

  /** Before the samples, so that the start of a run is measured from the samples of the runs before it. */
  private writeEvents(store: TelemetryStore) {
    try {
      this.eventLog.write(store, (uuid) => this.gpuInfos.get(uuid));
    } catch (error) {
      this.counters.eventWriteFailures += 1;
      const dropped = this.eventLog.dropped > 0 ? ` (${this.eventLog.dropped} dropped so far, the oldest first)` : "";
      this.recordFailure(`writing ${this.eventLog.pendingCount} events failed${dropped}`, error);
    }
  }

  /** Counts and logs a failed write; the same error repeating every flush is logged once a minute. */
  private recordFailure(what: string, error: unknown) {
    const reason = error instanceof Error ? error.message : String(error);
    const message = `${what}: ${reason}`;
    this.counters.lastError = message;
    this.counters.lastErrorAt = Date.now();
    const code = (error as { code?: unknown } | null)?.code;
    this.writeFailureLog.failed(reason, message, {
      code: typeof code === "string" ? code : undefined,
      writeFailures: this.counters.writeFailures,
      pending: this.pending.length,
      dropped: this.counters.dropped,
    });
  }

  /** A GPU that stops reporting, or comes back, is worth a line in the log. */
  private logHealthChanges() {
    const now = Date.now();
    for (const change of this.gpuStates.changes(now)) {
      this.eventLog.stateChanged(change, now);
      const { gpu, previous } = change;
      const fields = { gpuIndex: gpu.index, uuid: gpu.uuid, state: gpu.state, previous, since: gpu.since };
      if (gpu.state === "reporting") this.options.log.info(fields, `GPU ${gpu.index} reports again`);
      else if (gpu.state === "lost") this.options.log.warn(fields, `GPU ${gpu.index} is lost: ${gpu.problem}`);
      else
        this.options.log.warn(
          { ...fields, silentMs: gpu.silentMs },
          `GPU ${gpu.index} is stale: ${gpu.problem} for ${(gpu.silentMs / 1000).toFixed(1)} s`,
        );
    }
  }

  subscribe(listener: Listener): () => void {
    this.events.on("snapshot", listener);
    return () => this.events.off("snapshot", listener);
  }

  /**
   * The snapshots collected from now on, in order, until `signal` aborts or the
   * iteration is left. Listening starts at this call, not at the first read, so a
   * caller may send a backlog first and miss nothing in between.
   */
  snapshotsFromNow(signal: AbortSignal): AsyncIterableIterator<Snapshot> {
    const queued: Snapshot[] = [];
    let finished = false;
    let waiting: ((result: IteratorResult<Snapshot, undefined>) => void) | null = null;
    const unsubscribe = this.subscribe((snapshot) => {
      const wake = waiting;
      waiting = null;
      if (wake) wake({ value: snapshot, done: false });
      else queued.push(snapshot);
    });
    const finish = () => {
      finished = true;
      unsubscribe();
      signal.removeEventListener("abort", finish);
      const wake = waiting;
      waiting = null;
      wake?.({ value: undefined, done: true });
    };
    signal.addEventListener("abort", finish);
    if (signal.aborted) finish();
    const iterator: AsyncIterableIterator<Snapshot> = {
      next: () => {
        const snapshot = queued.shift();
        if (snapshot) return Promise.resolve({ value: snapshot, done: false });
        // Aborted or left: a later read ends at once instead of waiting for good.
        if (finished) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (waiting = resolve));
      },
      return: () => {
        finish();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Snapshots still in memory with an id above `afterId`, oldest first. */
  snapshotsAfter(afterId: number): Snapshot[] {
    return this.recent.filter((s) => s.id > afterId);
  }

  latest(): Snapshot | null {
    return this.recent.at(-1) ?? null;
  }

  gpus(): GpuInfo[] {
    return [...this.gpuInfos.values()].sort((a, b) => a.index - b.index);
  }

  get finished(): boolean {
    return this.sourceEnded && this.pending.length === 0;
  }

  status(): CollectorStatus {
    return {
      source: this.options.source.status(),
      intervalMs: this.options.intervalMs,
      ...this.counters,
      writesFailingSince: this.writeFailureLog.failingSince,
      pending: this.pending.length,
      gpuCount: this.gpuInfos.size,
      rejectedValues: this.rejected.count,
      rejectedByField: this.rejected.list(),
      gpus: this.gpuStates.states(Date.now()),
      pendingEvents: this.eventLog.pendingCount,
      droppedEvents: this.eventLog.dropped,
      pendingSessions: this.sessions.pendingCount,
      droppedSessions: this.sessions.dropped,
    };
  }
}
