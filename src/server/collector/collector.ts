import { EventEmitter } from "node:events";
import type { Logger } from "../logger";
import type { GpuSource, SourceSink, SourceStatus } from "../sources/source";
import type { GpuInfo, GpuSample } from "../sources/types";
import type { StorageManager } from "../storage/storage-manager";

/**
 * The sampling loop's hub: takes what the source produces, hands every
 * snapshot to live subscribers at once, and batches it to storage on a flush
 * timer so that a slow or failing database never holds the stream back.
 * Pending samples are bounded: when the database stays down the oldest are
 * dropped and counted.
 */

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
  lastSampleAt: number | null;
  lastStoredAt: number | null;
  lastError: string | null;
  lastErrorAt: number | null;
  gpuCount: number;
}

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
}

type Listener = (snapshot: Snapshot) => void;

export class Collector {
  /** Emits `snapshot` (a Snapshot) for every tick collected. */
  readonly events = new EventEmitter();
  private readonly gpuInfos = new Map<string, GpuInfo>();
  private readonly recent: Snapshot[] = [];
  private pending: GpuSample[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private running = false;
  private sourceEnded = false;
  private counters = {
    collected: 0,
    stored: 0,
    dropped: 0,
    writeFailures: 0,
    lastSampleAt: null as number | null,
    lastStoredAt: null as number | null,
    lastError: null as string | null,
    lastErrorAt: null as number | null,
  };
  private readonly maxPending: number;
  private readonly historySize: number;

  constructor(private readonly options: CollectorOptions) {
    this.maxPending = options.maxPending ?? 200_000;
    this.historySize = options.historySize ?? 300;
    // Every open dashboard tab and API stream listens here; there is no sensible fixed limit.
    this.events.setMaxListeners(0);
  }

  async start() {
    if (this.running) return;
    this.running = true;
    const flushEvery = Math.min(1000, this.options.flushIntervalMs ?? this.options.intervalMs);
    this.flushTimer = setInterval(() => this.flush(), flushEvery);
    const sink: SourceSink = {
      gpus: (infos) => this.acceptGpus(infos),
      samples: (samples) => this.acceptSamples(samples),
      ended: () => {
        this.sourceEnded = true;
        this.options.log.info("source finished: no more samples will arrive");
      },
    };
    await this.options.source.start(sink);
  }

  /** Stops sampling and writes everything still pending. */
  async stop() {
    if (!this.running) return;
    this.running = false;
    await this.options.source.stop();
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.flush();
  }

  private acceptGpus(infos: GpuInfo[]) {
    for (const info of infos) this.gpuInfos.set(info.uuid, info);
    const store = this.options.storage.store;
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
  private acceptSamples(samples: GpuSample[]): void {
    if (samples.length === 0) return;
    this.counters.collected += samples.length;
    const latest = samples.reduce((max, s) => Math.max(max, s.timestamp), 0);
    this.counters.lastSampleAt = Math.max(this.counters.lastSampleAt ?? 0, latest);
    this.publish({ id: this.nextId++, timestamp: latest, samples: this.latestPerGpu(samples) });
    this.pending.push(...samples);
    if (this.pending.length > this.maxPending) {
      const excess = this.pending.length - this.maxPending;
      this.pending.splice(0, excess);
      this.counters.dropped += excess;
      this.options.log.warn({ dropped: excess, totalDropped: this.counters.dropped }, "pending buffer full: oldest samples dropped");
    }
    if (this.pending.length >= 5000) this.flush();
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

  /** Writes pending samples in one transaction; keeps them for the next try on failure. */
  flush(): number {
    if (this.pending.length === 0) return 0;
    const store = this.options.storage.store;
    if (!store) return 0;
    const batch = this.pending;
    try {
      const stored = store.writeSamples(batch, (uuid) => this.gpuInfos.get(uuid));
      this.pending = this.pending === batch ? [] : this.pending.slice(batch.length);
      this.counters.stored += stored;
      this.counters.lastStoredAt = Date.now();
      return stored;
    } catch (error) {
      this.counters.writeFailures += 1;
      this.recordFailure(`writing ${batch.length} samples failed`, error);
      return 0;
    }
  }

  private recordFailure(what: string, error: unknown) {
    const message = `${what}: ${error instanceof Error ? error.message : String(error)}`;
    this.counters.lastError = message;
    this.counters.lastErrorAt = Date.now();
    this.options.log.error({ writeFailures: this.counters.writeFailures, pending: this.pending.length }, message);
  }

  subscribe(listener: Listener): () => void {
    this.events.on("snapshot", listener);
    return () => this.events.off("snapshot", listener);
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
      pending: this.pending.length,
      gpuCount: this.gpuInfos.size,
    };
  }
}
