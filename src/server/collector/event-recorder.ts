import type { GpuInfo, GpuSample, GpuXidEvent } from "../../telemetry/types";
import { xidMeaning } from "../../telemetry/xid-errors";
import type { ApplicationsClocks, GpuEventDetails, GpuEventKind, NewGpuEvent } from "../storage/gpu-events";
import { storableValue } from "../sources/storable-readings";
import type { TelemetryStore } from "../storage/telemetry-store";
import type { GpuStateChange } from "./gpu-state";

/**
 * Notices what happens to each GPU and to the recorder, and holds it until the
 * collector's next flush writes it into the event log. Changed limits are found
 * by comparing each GPU's facts and readings with the last ones known (at the
 * first sight of a GPU, its row in the database, so a change made while the
 * recorder was stopped is found too).
 */

/** The facts watched for changes, by the event that records a change. */
const WATCHED_FACTS = {
  powerLimitW: "power_limit_changed",
  maxGraphicsClockMhz: "max_graphics_clock_changed",
  maxMemoryClockMhz: "max_memory_clock_changed",
  baseClockMhz: "base_clock_changed",
  driverVersion: "driver_version_changed",
} as const satisfies Partial<Record<keyof GpuInfo, GpuEventKind>>;

type WatchedFact = keyof typeof WATCHED_FACTS;
/** Those a reading carries too. */
const SAMPLED_FACTS = ["powerLimitW", "maxGraphicsClockMhz", "maxMemoryClockMhz", "baseClockMhz"] as const satisfies WatchedFact[];

type KnownFacts = { -readonly [K in WatchedFact]?: GpuInfo[K] };

/** An event before it is written: its GPU is known by UUID until then. */
type PendingEvent = {
  [K in GpuEventKind]: { gpuUuid: string | null; at: number; kind: K; detail: GpuEventDetails[K] };
}[GpuEventKind];

/** Events waiting for a database that stays down: the oldest beyond this are dropped and counted. */
const MAX_PENDING_EVENTS = 10_000;

export class EventRecorder {
  private pending: PendingEvent[] = [];
  private readonly facts = new Map<string, KnownFacts>();
  /** Known only from this run's readings: the database does not keep them. */
  private readonly applicationsClocks = new Map<string, ApplicationsClocks>();
  /** The Xid errors the source listed at the last look, so that each is recorded once. */
  private seenXids = new Set<string>();
  private startRecorded = false;
  dropped = 0;

  constructor(private readonly startedAt: number) {}

  get pendingCount(): number {
    return this.pending.length;
  }

  /** The source described its GPUs: compared with what was known, before the database row is overwritten. */
  gpusDescribed(infos: readonly GpuInfo[], store: TelemetryStore | null, now: number) {
    for (const info of infos) {
      const known = this.factsOf(info.uuid, store);
      for (const fact of Object.keys(WATCHED_FACTS) as WatchedFact[]) this.compare(info.uuid, known, fact, info[fact], now);
    }
  }

  /**
   * The applications clocks of the GPUs a source described (a GPU without them is left out):
   * a change from those last read is an event, dated when it was read.
   */
  applicationsClocksRead(infos: readonly GpuInfo[], now: number) {
    for (const info of infos) {
      const clocks: ApplicationsClocks = {
        graphics: storableValue("graphicsClockMhz", info.applicationsGraphicsClockMhz) ?? null,
        memory: storableValue("memoryClockMhz", info.applicationsMemoryClockMhz) ?? null,
      };
      if (clocks.graphics === null && clocks.memory === null) continue;
      const before = this.applicationsClocks.get(info.uuid);
      this.applicationsClocks.set(info.uuid, clocks);
      if (before !== undefined && (before.graphics !== clocks.graphics || before.memory !== clocks.memory))
        this.add({ gpuUuid: info.uuid, at: now, kind: "application_clocks_changed", detail: { from: before, to: clocks } });
    }
  }

  sampled(sample: GpuSample, store: TelemetryStore | null) {
    const known = this.factsOf(sample.uuid, store);
    for (const fact of SAMPLED_FACTS) this.compare(sample.uuid, known, fact, sample[fact], sample.timestamp);
  }

  /**
   * A GPU stopped reporting or came back. A lost or stale GPU's event is dated when
   * it stopped (its first error, its last reading), a GPU back when its reading came.
   */
  stateChanged({ gpu, previous }: GpuStateChange, now: number) {
    if (gpu.state === "reporting") {
      if (previous !== "reporting")
        this.add({ gpuUuid: gpu.uuid, at: gpu.lastReadingAt ?? now, kind: "gpu_back", detail: { was: previous } });
    } else if (gpu.state === "lost") {
      this.add({ gpuUuid: gpu.uuid, at: gpu.since ?? now, kind: "gpu_lost", detail: { problem: gpu.problem } });
    } else {
      this.add({ gpuUuid: gpu.uuid, at: gpu.since ?? now, kind: "gpu_stale", detail: { problem: gpu.problem } });
    }
  }

  /** The source's list of Xid errors (all it holds); those not seen at the last look are new. */
  xidErrors(listed: readonly GpuXidEvent[]) {
    const seen = new Set<string>();
    for (const event of listed) {
      const key = `${event.gpuUuid}\n${event.xid}\n${event.at}`;
      seen.add(key);
      if (this.seenXids.has(key)) continue;
      this.add({ gpuUuid: event.gpuUuid, at: event.at, kind: "xid", detail: { xid: event.xid, meaning: xidMeaning(event.xid) } });
    }
    this.seenXids = seen;
  }

  /** A clean stop; the collector writes it with its last flush. */
  stopped(now: number) {
    this.add({ gpuUuid: null, at: now, kind: "recorder_stopped", detail: { clean: true } });
  }

  /**
   * Writes what is pending in one transaction; on the first write with a database,
   * first the start of this run, and the end of the last one when it did not record
   * its own stop. Throws when the database fails, keeping everything for the next try.
   */
  write(store: TelemetryStore, infoFor: (uuid: string) => GpuInfo | undefined) {
    if (this.startRecorded && this.pending.length === 0) return;
    store.db.transaction(() => {
      if (!this.startRecorded) for (const event of this.runBoundaries(store)) store.events.insert(event);
      for (const event of this.pending) store.events.insert(this.resolved(event, store, infoFor));
    })();
    this.startRecorded = true;
    this.pending = [];
  }

  private runBoundaries(store: TelemetryStore): NewGpuEvent[] {
    const last = store.events.newestOf(["recorder_started", "recorder_stopped"]);
    const newestSample = store.events.newestSampleAt();
    const started = (previousStopAt: number | null, cleanStop: boolean | null): NewGpuEvent => ({
      gpuId: null,
      at: this.startedAt,
      kind: "recorder_started",
      detail: { previousStopAt, cleanStop, gapMs: previousStopAt === null ? null : Math.max(0, this.startedAt - previousStopAt) },
    });
    if (last?.kind === "recorder_stopped") return [started(last.at, true)];
    if (last === null && newestSample === null) return [started(null, null)];
    // The last run ended without a word: it stopped at its newest sample, as far as anyone can tell.
    const stoppedAt = Math.min(this.startedAt, Math.max(newestSample ?? 0, last?.at ?? 0));
    return [{ gpuId: null, at: stoppedAt, kind: "recorder_stopped", detail: { clean: false } }, started(stoppedAt, false)];
  }

  private resolved(event: PendingEvent, store: TelemetryStore, infoFor: (uuid: string) => GpuInfo | undefined): NewGpuEvent {
    const { gpuUuid, ...rest } = event;
    if (gpuUuid === null) return { ...rest, gpuId: null };
    let gpu = store.gpuByUuid(gpuUuid);
    const base = gpu ?? infoFor(gpuUuid);
    // A changed limit is the GPU's fact from now on: its row says so, and the next start compares with it.
    const changed = (Object.keys(WATCHED_FACTS) as WatchedFact[]).find((fact) => WATCHED_FACTS[fact] === event.kind);
    if (base && (gpu === undefined || changed !== undefined)) {
      const current = changed === undefined ? base : { ...base, [changed]: (event.detail as { to: unknown }).to };
      store.registerGpus([current]);
      gpu = store.gpuByUuid(gpuUuid);
    }
    return { ...rest, gpuId: gpu?.id ?? null };
  }

  private factsOf(uuid: string, store: TelemetryStore | null): KnownFacts {
    let known = this.facts.get(uuid);
    if (!known) {
      const stored = store?.gpuByUuid(uuid);
      known = {};
      if (stored) for (const fact of Object.keys(WATCHED_FACTS) as WatchedFact[]) setFact(known, fact, stored[fact]);
      this.facts.set(uuid, known);
    }
    return known;
  }

  /** A value not reported (null) is no change: the next reported one is compared with the last known. */
  private compare<K extends WatchedFact>(uuid: string, known: KnownFacts, fact: K, value: GpuInfo[K], at: number) {
    if (value === null) return;
    const before = known[fact];
    setFact(known, fact, value);
    if (before === undefined || before === null || before === value) return;
    this.add({ gpuUuid: uuid, at, kind: WATCHED_FACTS[fact], detail: { from: before, to: value } } as PendingEvent);
  }

  private add(event: PendingEvent) {
    this.pending.push(event);
    if (this.pending.length > MAX_PENDING_EVENTS) {
      this.pending.shift();
      this.dropped += 1;
    }
  }
}

function setFact<K extends WatchedFact>(known: KnownFacts, fact: K, value: GpuInfo[K]) {
  if (value !== null) known[fact] = value;
}
