import type Database from "better-sqlite3";

/**
 * The ProcessSession table: one row per process's stay on one GPU, kept up to
 * date by the collector's flushes (session-tracker.ts gathers the figures).
 * Rows are written whole each time: a session is one small row, updated in place.
 */

export interface SessionFigures {
  gpuId: number;
  pid: number;
  processName: string | null;
  command: string | null;
  user: string | null;
  container: string | null;
  startedAt: number;
  lastSeen: number;
  /** Null while the process is still listed. */
  endedAt: number | null;
  peakMemoryMib: number | null;
  memoryMibSum: number;
  memoryReadings: number;
  gpuSeconds: number;
  busySeconds: number;
  smUtilSum: number;
  smUtilReadings: number;
  energyJ: number;
  longestIdleMs: number;
  longestIdleFrom: number | null;
  idleMemoryMib: number | null;
}

export interface StoredSession extends SessionFigures {
  id: number;
}

export interface SessionWindow {
  from: number;
  to: number;
  /** One GPU's sessions; every GPU's when undefined. */
  gpuId?: number;
  user?: string;
}

const COLUMNS = [
  "gpuId",
  "pid",
  "processName",
  "command",
  "user",
  "container",
  "startedAt",
  "lastSeen",
  "endedAt",
  "peakMemoryMib",
  "memoryMibSum",
  "memoryReadings",
  "gpuSeconds",
  "busySeconds",
  "smUtilSum",
  "smUtilReadings",
  "energyJ",
  "longestIdleMs",
  "longestIdleFrom",
  "idleMemoryMib",
] as const satisfies ReadonlyArray<keyof SessionFigures>;

/** Overlapping the window: started before its end and last seen after its start. */
const IN_WINDOW = `lastSeen >= @from AND startedAt <= @to AND (@gpuId IS NULL OR gpuId = @gpuId) AND (@user IS NULL OR user = @user)`;

export type SessionGrouping = "user" | "process" | "gpu";

/** One group's sums over the window, each session counted for the share of its span inside it. */
export interface SessionGroupSums {
  /** The user or process name (null where unknown), or the GPU's id as text. */
  key: string | null;
  sessions: number;
  gpuSeconds: number;
  busySeconds: number;
  peakMemoryMib: number | null;
  energyJ: number;
}

/** The share of a session's span inside [@from, @to]; a session seen once counts whole. */
const SHARE_INSIDE = `CASE WHEN lastSeen > startedAt
  THEN max(0.0, min(1.0, (min(@to, lastSeen) - max(@from, startedAt)) * 1.0 / (lastSeen - startedAt))) ELSE 1.0 END`;

const GROUP_KEY: Record<SessionGrouping, string> = { user: "user", process: "processName", gpu: "CAST(gpuId AS TEXT)" };

export class ProcessSessionLog {
  private readonly sumsBy: Record<SessionGrouping, Database.Statement>;
  private readonly idleOnes: Database.Statement;
  private readonly insertOne: Database.Statement;
  private readonly updateOne: Database.Statement;
  private readonly closeOpenOnes: Database.Statement;
  private readonly listPage: Database.Statement;
  private readonly countAll: Database.Statement;
  private readonly listAfter: Database.Statement;
  private readonly deleteOld: Database.Statement;
  private readonly deleteBeforeSamples: Database.Statement;

  constructor(db: Database.Database) {
    this.insertOne = db.prepare(
      `INSERT INTO ProcessSession (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")}) RETURNING id`,
    );
    this.updateOne = db.prepare(`UPDATE ProcessSession SET ${COLUMNS.map((c) => `${c} = @${c}`).join(", ")} WHERE id = @id`);
    this.closeOpenOnes = db.prepare(`UPDATE ProcessSession SET endedAt = lastSeen WHERE endedAt IS NULL`);
    this.listPage = db.prepare(
      `SELECT * FROM ProcessSession WHERE ${IN_WINDOW} ORDER BY lastSeen DESC, id DESC LIMIT @limit OFFSET @offset`,
    );
    this.countAll = db.prepare(`SELECT count(*) FROM ProcessSession WHERE ${IN_WINDOW}`).pluck();
    this.listAfter = db.prepare(`SELECT * FROM ProcessSession WHERE ${IN_WINDOW} AND id > @afterId ORDER BY id LIMIT @limit`);
    this.deleteOld = db.prepare(`DELETE FROM ProcessSession WHERE lastSeen < ?`);
    // Summed in SQL: a week of a busy box is hundreds of thousands of sessions, never all in memory at once.
    const sums = (key: string) =>
      db.prepare(
        `SELECT ${key} AS key, count(*) AS sessions, sum(gpuSeconds * share) AS gpuSeconds, sum(busySeconds * share) AS busySeconds,
           max(peakMemoryMib) AS peakMemoryMib, sum(energyJ * share) AS energyJ
         FROM (SELECT *, ${SHARE_INSIDE} AS share FROM ProcessSession WHERE ${IN_WINDOW}) GROUP BY ${key}`,
      );
    this.sumsBy = { user: sums(GROUP_KEY.user), process: sums(GROUP_KEY.process), gpu: sums(GROUP_KEY.gpu) };
    this.idleOnes = db.prepare(
      `SELECT * FROM ProcessSession WHERE ${IN_WINDOW} AND longestIdleMs >= @minMs AND longestIdleFrom IS NOT NULL
       ORDER BY longestIdleMs DESC, id LIMIT @limit`,
    );
    // Sessions that ended before the oldest sample kept describe a time the history no longer shows.
    this.deleteBeforeSamples = db.prepare(
      `DELETE FROM ProcessSession WHERE endedAt IS NOT NULL AND lastSeen < (SELECT min(startTs) FROM SampleChunk)`,
    );
  }

  /** Writes a new session and returns its id; call inside the flush's transaction. */
  insert(session: SessionFigures): number {
    return (this.insertOne.get(session) as { id: number }).id;
  }

  update(id: number, session: SessionFigures) {
    this.updateOne.run({ ...session, id });
  }

  /** At start: sessions the last run left open end when they were last seen. Returns how many. */
  closeOpen(): number {
    return this.closeOpenOnes.run().changes;
  }

  /** Newest first (by last seen), `limit` from `offset`, and how many there are in all. */
  page(window: SessionWindow, limit: number, offset: number): { sessions: StoredSession[]; total: number } {
    const params = bound(window);
    return {
      sessions: this.listPage.all({ ...params, limit, offset }) as StoredSession[],
      total: this.countAll.get(params) as number,
    };
  }

  /**
   * The sessions overlapping the window, in the order they were first written, `limit` after
   * the one with id `afterId`: a page at a time, so no statement stays open between pages.
   */
  after(window: SessionWindow, afterId: number, limit: number): StoredSession[] {
    return this.listAfter.all({ ...bound(window), afterId, limit }) as StoredSession[];
  }

  /** Per user, process name or GPU id: the sums of the sessions overlapping the window. */
  sums(window: SessionWindow, by: SessionGrouping): SessionGroupSums[] {
    return this.sumsBy[by].all(bound(window)) as SessionGroupSums[];
  }

  /** Sessions whose longest idle stretch lasted `minMs` or more, the longest first, at most `limit`. */
  idle(window: SessionWindow, minMs: number, limit: number): StoredSession[] {
    return this.idleOnes.all({ ...bound(window), minMs, limit }) as StoredSession[];
  }

  /** Deletes sessions last seen before `cutoff`; returns how many. */
  deleteBefore(cutoff: number): number {
    return this.deleteOld.run(cutoff).changes;
  }

  /** After the size cap deleted the oldest chunks: ended sessions from before what is left. */
  deleteBeforeOldestChunk(): number {
    return this.deleteBeforeSamples.run().changes;
  }
}

function bound(window: SessionWindow) {
  return { from: window.from, to: window.to, gpuId: window.gpuId ?? null, user: window.user ?? null };
}
