import type Database from "better-sqlite3";

/**
 * The per-GPU event log (the GpuEvent table): what happened to a GPU or to the
 * recorder, one row per event, its particulars as a JSON object. Recorder-wide
 * events (started, stopped, pruned) have no GPU.
 */

export interface ApplicationsClocks {
  graphics: number | null;
  memory: number | null;
}

/** What each kind of event holds in its detail. */
export interface GpuEventDetails {
  xid: { xid: number; meaning: string | null };
  gpu_lost: { problem: string | null };
  gpu_stale: { problem: string | null };
  gpu_back: { was: "lost" | "stale" };
  power_limit_changed: { from: number; to: number };
  max_graphics_clock_changed: { from: number; to: number };
  max_memory_clock_changed: { from: number; to: number };
  base_clock_changed: { from: number; to: number };
  driver_version_changed: { from: string; to: string };
  /** The applications clocks (`nvidia-smi -ac`), MHz; null where one was not reported. */
  application_clocks_changed: { from: ApplicationsClocks; to: ApplicationsClocks };
  /** The previous run's end (null on the first run), whether it stopped cleanly, and the time nothing was recorded. */
  recorder_started: { previousStopAt: number | null; cleanStop: boolean | null; gapMs: number | null };
  /** Unclean: the previous run ended without saying so (killed, crashed); `at` is its newest sample then. */
  recorder_stopped: { clean: boolean };
  prune: { reason: string; deletedChunks: number; deletedSamples: number; deletedEvents: number; bytesBefore: number; bytesAfter: number };
}

export type GpuEventKind = keyof GpuEventDetails;

export type NewGpuEvent = {
  [K in GpuEventKind]: { gpuId: number | null; at: number; kind: K; detail: GpuEventDetails[K] };
}[GpuEventKind];

export interface StoredGpuEvent {
  id: number;
  gpuId: number | null;
  at: number;
  /** One of GpuEventKind, or a kind a newer version wrote. */
  kind: string;
  detail: Record<string, unknown>;
}

export interface EventWindow {
  from: number;
  to: number;
  /** One GPU's events; undefined for every event, recorder-wide ones included. */
  gpuId?: number;
  limit: number;
}

interface EventRow {
  id: number;
  gpuId: number | null;
  at: number;
  kind: string;
  detail: string;
}

/**
 * More events of the kinds asked for than this and they are read from the table every time
 * rather than kept (a GPU that drops off the bus every minute for months).
 */
const MAX_KEPT_EVENTS = 5_000;

/** Every event of some kinds, oldest first, as the log was when they were read. */
interface KeptKinds {
  writes: number;
  dataVersion: number;
  /** null: more than MAX_KEPT_EVENTS. */
  events: StoredGpuEvent[] | null;
}

export class GpuEventLog {
  private readonly insertOne: Database.Statement;
  private readonly listAll: Database.Statement;
  private readonly listGpu: Database.Statement;
  private readonly deleteOld: Database.Statement;
  private readonly newestOfKinds: Database.Statement;
  private readonly newestSample: Database.Statement;
  private readonly listKinds: Database.Statement;
  private readonly allOfKinds: Database.Statement;
  private readonly dataVersion: Database.Statement;
  /** Writes through this log; with SQLite's data_version (other connections' commits), tells when kept events went stale. */
  private writes = 0;
  private readonly kept = new Map<string, KeptKinds>();

  constructor(db: Database.Database) {
    this.insertOne = db.prepare(`INSERT INTO GpuEvent (gpuId, at, kind, detail) VALUES (?, ?, ?, ?)`);
    this.listAll = db.prepare(
      `SELECT id, gpuId, at, kind, detail FROM GpuEvent WHERE at >= ? AND at <= ? ORDER BY at DESC, id DESC LIMIT ?`,
    );
    this.listGpu = db.prepare(
      `SELECT id, gpuId, at, kind, detail FROM GpuEvent WHERE gpuId = ? AND at >= ? AND at <= ? ORDER BY at DESC, id DESC LIMIT ?`,
    );
    this.deleteOld = db.prepare(`DELETE FROM GpuEvent WHERE at < ?`);
    this.newestOfKinds = db.prepare(
      `SELECT id, gpuId, at, kind, detail FROM GpuEvent WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY at DESC, id DESC LIMIT 1`,
    );
    this.listKinds = db.prepare(
      `SELECT id, gpuId, at, kind, detail FROM GpuEvent WHERE at >= ? AND at <= ? AND (gpuId IS NULL OR gpuId = ?)
         AND kind IN (SELECT value FROM json_each(?)) ORDER BY at, id LIMIT ?`,
    );
    this.allOfKinds = db.prepare(
      `SELECT id, gpuId, at, kind, detail FROM GpuEvent WHERE kind IN (SELECT value FROM json_each(?)) ORDER BY at, id LIMIT ?`,
    );
    this.dataVersion = db.prepare("PRAGMA data_version").pluck();
    this.newestSample = db
      .prepare(`SELECT max(newest) FROM (SELECT max(ts) AS newest FROM RecentSample UNION ALL SELECT max(endTs) FROM SampleChunk)`)
      .pluck();
  }

  /** Call inside a transaction to write several at once. */
  insert(event: NewGpuEvent) {
    this.writes++;
    this.insertOne.run(event.gpuId, event.at, event.kind, JSON.stringify(event.detail));
  }

  /** Newest first. */
  list({ from, to, gpuId, limit }: EventWindow): StoredGpuEvent[] {
    const rows = (gpuId === undefined ? this.listAll.all(from, to, limit) : this.listGpu.all(gpuId, from, to, limit)) as EventRow[];
    return rows.map(parsed);
  }

  /**
   * Oldest first: one GPU's events and the recorder's own of these kinds. Every event of the kinds
   * is kept in memory between calls while there are few: each chart asks for the outages of its
   * range, and reading the table's pages again (the series' chunks push them out of SQLite's cache)
   * cost more than the rest of a chart's gaps. The events answered are shared: do not change them.
   */
  listOfKinds({ from, to, gpuId, limit }: EventWindow & { gpuId: number }, kinds: readonly GpuEventKind[]): StoredGpuEvent[] {
    const key = JSON.stringify(kinds);
    const events = this.keptOfKinds(key);
    if (events === null) return (this.listKinds.all(from, to, gpuId, key, limit) as EventRow[]).map(parsed);
    const found: StoredGpuEvent[] = [];
    for (let i = firstAtOrAfter(events, from); i < events.length && events[i].at <= to && found.length < limit; i++) {
      if (events[i].gpuId === null || events[i].gpuId === gpuId) found.push(events[i]);
    }
    return found;
  }

  /** Every event of the kinds in `key` (their JSON), oldest first, read again when the log changed; null when too many. */
  private keptOfKinds(key: string): StoredGpuEvent[] | null {
    const dataVersion = this.dataVersion.get() as number;
    const kept = this.kept.get(key);
    if (kept !== undefined && kept.writes === this.writes && kept.dataVersion === dataVersion) return kept.events;
    const rows = this.allOfKinds.all(key, MAX_KEPT_EVENTS + 1) as EventRow[];
    const events = rows.length > MAX_KEPT_EVENTS ? null : rows.map(parsed);
    this.kept.set(key, { writes: this.writes, dataVersion, events });
    return events;
  }

  newestOf(kinds: readonly GpuEventKind[]): StoredGpuEvent | null {
    const row = this.newestOfKinds.get(JSON.stringify(kinds)) as EventRow | undefined;
    return row ? parsed(row) : null;
  }

  /** When the newest stored sample of any GPU was taken; null with none stored. */
  newestSampleAt(): number | null {
    return this.newestSample.get() as number | null;
  }

  /** Deletes the events before `cutoff`; returns how many. */
  deleteBefore(cutoff: number): number {
    this.writes++;
    return this.deleteOld.run(cutoff).changes;
  }
}

/** The first of `events` (ordered by time) at or after `at`. */
function firstAtOrAfter(events: readonly StoredGpuEvent[], at: number): number {
  let [low, high] = [0, events.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle].at < at) low = middle + 1;
    else high = middle;
  }
  return low;
}

function parsed(row: EventRow): StoredGpuEvent {
  let detail: Record<string, unknown> = {};
  try {
    const value: unknown = JSON.parse(row.detail);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) detail = value as Record<string, unknown>;
  } catch {
    // A detail that is not JSON (written by hand) leaves the event without particulars rather than unlistable.
  }
  return { id: row.id, gpuId: row.gpuId, at: row.at, kind: row.kind, detail };
}
