import { decodeChunk, encodeChunk, type ChunkRow } from "./chunk-codec";
import { databaseFileBytes, openDatabase, type SqliteDatabase } from "./database";
import { METRIC_KEYS, type GpuInfo, type GpuMetrics, type GpuSample } from "../sources/types";

/**
 * The sample store. New samples go to `RecentSample` as plain rows on every
 * flush (so a crash loses at most one flush); once a GPU has a chunk's worth,
 * they are sealed into one compressed `SampleChunk` row. Queries read both.
 * This module knows nothing of HTTP or of where samples come from.
 */

export interface StoreOptions {
  /** Samples per sealed chunk. */
  chunkMaxRows: number;
  /** A chunk never spans more sample time than this, whatever the interval. */
  chunkMaxSpanMs: number;
}

export const DEFAULT_STORE_OPTIONS: StoreOptions = { chunkMaxRows: 600, chunkMaxSpanMs: 600_000 };

export interface StoredSample extends GpuMetrics {
  gpuId: number;
  uuid: string;
  index: number;
  timestamp: number;
}

export interface StoredGpu extends GpuInfo {
  id: number;
  firstSeen: number;
  lastSeen: number;
}

export interface SampleBlock {
  gpu: StoredGpu;
  /** Newest timestamp in the block. */
  endTs: number;
  rows: ChunkRow[];
}

interface OpenRow extends ChunkRow {
  /** RecentSample id once written there; null while only in a batch being sealed. */
  recentId: number | null;
}

export interface SampleRange {
  from: number;
  to: number;
  /** Restrict to these GPU ids; all GPUs when omitted. */
  gpuIds?: number[];
}

const RECENT_COLUMNS = ["gpuId", "ts", ...METRIC_KEYS] as const;

export class TelemetryStore {
  private readonly gpuIdsByUuid = new Map<string, number>();
  private readonly gpusById = new Map<number, StoredGpu>();
  private readonly openRows = new Map<number, OpenRow[]>();
  private readonly statements;
  private closed = false;

  private constructor(
    readonly db: SqliteDatabase,
    readonly dbPath: string,
    readonly options: StoreOptions,
  ) {
    const placeholders = RECENT_COLUMNS.map(() => "?").join(", ");
    this.statements = {
      insertRecent: db.prepare(
        `INSERT INTO RecentSample (${RECENT_COLUMNS.map((c) => `"${c}"`).join(", ")}) VALUES (${placeholders})`,
      ),
      deleteRecentUpTo: db.prepare(`DELETE FROM RecentSample WHERE gpuId = ? AND id <= ?`),
      insertChunk: db.prepare(
        `INSERT INTO SampleChunk (gpuId, startTs, endTs, rowCount, data) VALUES (?, ?, ?, ?, ?)`,
      ),
      insertGpu: db.prepare(
        `INSERT INTO Gpu (uuid, "index", name, memoryTotalMib, powerLimitW, maxGraphicsClockMhz,
           maxMemoryClockMhz, baseClockMhz, driverVersion, firstSeen, lastSeen)
         VALUES (@uuid, @index, @name, @memoryTotalMib, @powerLimitW, @maxGraphicsClockMhz,
           @maxMemoryClockMhz, @baseClockMhz, @driverVersion, @firstSeen, @lastSeen)
         ON CONFLICT(uuid) DO UPDATE SET "index" = excluded."index", name = excluded.name,
           memoryTotalMib = excluded.memoryTotalMib, powerLimitW = excluded.powerLimitW,
           maxGraphicsClockMhz = excluded.maxGraphicsClockMhz, maxMemoryClockMhz = excluded.maxMemoryClockMhz,
           baseClockMhz = excluded.baseClockMhz, driverVersion = excluded.driverVersion
         RETURNING id, firstSeen`,
      ),
      touchGpu: db.prepare(`UPDATE Gpu SET lastSeen = max(lastSeen, ?) WHERE id = ?`),
      chunksOldestFirst: db.prepare(
        `SELECT gpuId, endTs, data FROM SampleChunk
         WHERE gpuId IN (SELECT value FROM json_each(?)) AND endTs >= ? AND startTs <= ? ORDER BY startTs, id`,
      ),
      chunksNewestFirst: db.prepare(
        `SELECT gpuId, endTs, data FROM SampleChunk
         WHERE gpuId IN (SELECT value FROM json_each(?)) AND endTs >= ? AND startTs <= ? ORDER BY endTs DESC, id DESC`,
      ),
    };
    this.loadState();
  }

  static open(dbPath: string, options: StoreOptions = DEFAULT_STORE_OPTIONS) {
    const { db, appliedMigrations } = openDatabase(dbPath);
    try {
      return { store: new TelemetryStore(db, dbPath, options), appliedMigrations };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private loadState() {
    const gpus = this.db.prepare(`SELECT * FROM Gpu`).all() as Array<StoredGpu>;
    for (const gpu of gpus) this.rememberGpu(gpu);
    const recent = this.db.prepare(`SELECT * FROM RecentSample ORDER BY id`).all() as Array<
      Record<(typeof RECENT_COLUMNS)[number] | "id", number | null>
    >;
    for (const row of recent) {
      const openRow = { recentId: row.id, timestamp: row.ts } as OpenRow;
      for (const key of METRIC_KEYS) openRow[key] = row[key];
      this.openRowsOf(row.gpuId as number).push(openRow);
    }
  }

  private rememberGpu(gpu: StoredGpu) {
    this.gpuIdsByUuid.set(gpu.uuid, gpu.id);
    this.gpusById.set(gpu.id, { ...gpu });
  }

  private openRowsOf(gpuId: number): OpenRow[] {
    let rows = this.openRows.get(gpuId);
    if (!rows) this.openRows.set(gpuId, (rows = []));
    return rows;
  }

  gpus(): StoredGpu[] {
    return [...this.gpusById.values()].sort((a, b) => a.index - b.index || a.id - b.id);
  }

  gpuIdForIndex(index: number): number | undefined {
    return this.gpus().find((g) => g.index === index)?.id;
  }

  /** Inserts or refreshes the static facts of GPUs; returns their ids. */
  registerGpus(infos: readonly GpuInfo[], seenAt = Date.now()): number[] {
    return this.db.transaction(() => infos.map((info) => this.upsertGpu(info, seenAt)))();
  }

  private upsertGpu(info: GpuInfo, seenAt: number): number {
    const known = this.gpusById.get(this.gpuIdsByUuid.get(info.uuid) ?? -1);
    const row = this.statements.insertGpu.get({ ...info, firstSeen: seenAt, lastSeen: seenAt }) as {
      id: number;
      firstSeen: number;
    };
    this.rememberGpu({ ...info, id: row.id, firstSeen: row.firstSeen, lastSeen: known?.lastSeen ?? seenAt });
    return row.id;
  }

  /**
   * Stores samples in one transaction. GPUs not seen before are registered
   * through `infoFor`. All or nothing: on error nothing is stored and the
   * in-memory state is unchanged, so the caller can retry the same batch.
   */
  writeSamples(samples: readonly GpuSample[], infoFor: (uuid: string) => GpuInfo | undefined): number {
    if (samples.length === 0) return 0;
    const pending = new Map<number, OpenRow[]>();
    const lastSeen = new Map<number, number>();
    const registered: StoredGpu[] = [];
    const write = this.db.transaction(() => {
      for (const sample of samples) {
        let gpuId = this.gpuIdsByUuid.get(sample.uuid);
        if (gpuId === undefined) {
          const info = infoFor(sample.uuid) ?? fallbackInfo(sample);
          gpuId = this.upsertGpu(info, sample.timestamp);
          registered.push(this.gpusById.get(gpuId)!);
        }
        let rows = pending.get(gpuId);
        if (!rows) pending.set(gpuId, (rows = [...(this.openRows.get(gpuId) ?? [])]));
        const row = { recentId: null, timestamp: sample.timestamp } as OpenRow;
        for (const key of METRIC_KEYS) row[key] = sample[key];
        rows.push(row);
        lastSeen.set(gpuId, Math.max(lastSeen.get(gpuId) ?? 0, sample.timestamp));
      }
      for (const [gpuId, rows] of pending) {
        pending.set(gpuId, this.sealFullChunks(gpuId, rows));
        for (const row of pending.get(gpuId)!) {
          if (row.recentId === null) row.recentId = this.insertRecent(gpuId, row);
        }
        this.statements.touchGpu.run(lastSeen.get(gpuId), gpuId);
      }
    });
    try {
      write();
    } catch (error) {
      // The transaction rolled back: forget GPUs registered inside it.
      for (const gpu of registered) {
        this.gpuIdsByUuid.delete(gpu.uuid);
        this.gpusById.delete(gpu.id);
      }
      throw error;
    }
    for (const [gpuId, rows] of pending) {
      this.openRows.set(gpuId, rows);
      const gpu = this.gpusById.get(gpuId)!;
      gpu.lastSeen = Math.max(gpu.lastSeen, lastSeen.get(gpuId)!);
    }
    return samples.length;
  }

  /** Seals leading rows into chunks while a chunk's worth is waiting; returns the rows still open. */
  private sealFullChunks(gpuId: number, rows: OpenRow[]): OpenRow[] {
    let start = 0;
    while (rows.length - start > 0) {
      const take = this.rowsForNextChunk(rows, start);
      if (take === 0) break;
      const sealed = rows.slice(start, start + take);
      const timestamps = sealed.map((r) => r.timestamp);
      this.statements.insertChunk.run(
        gpuId,
        Math.min(...timestamps),
        Math.max(...timestamps),
        sealed.length,
        encodeChunk(sealed),
      );
      const lastRecentId = sealed.reduce((max, r) => Math.max(max, r.recentId ?? 0), 0);
      if (lastRecentId > 0) this.statements.deleteRecentUpTo.run(gpuId, lastRecentId);
      start += take;
    }
    return start === 0 ? rows : rows.slice(start);
  }

  /** How many rows from `start` form a full chunk now (0 = keep them open). */
  private rowsForNextChunk(rows: OpenRow[], start: number): number {
    const { chunkMaxRows, chunkMaxSpanMs } = this.options;
    if (rows.length - start >= chunkMaxRows) return chunkMaxRows;
    const first = rows[start].timestamp;
    if (rows[rows.length - 1].timestamp - first < chunkMaxSpanMs) return 0;
    let end = start;
    while (end < rows.length && rows[end].timestamp - first < chunkMaxSpanMs) end++;
    return Math.max(1, end - start);
  }

  private insertRecent(gpuId: number, row: OpenRow): number {
    const values = [gpuId, row.timestamp, ...METRIC_KEYS.map((k) => row[k])];
    return Number(this.statements.insertRecent.run(...values).lastInsertRowid);
  }

  /**
   * The stored samples overlapping [from, to] as blocks (one sealed chunk, or a
   * GPU's open rows), oldest or newest block first. Rows inside a block are in
   * write order and not yet filtered to the range; callers stop early when they
   * have enough, so long ranges cost only what is read.
   */
  *blocks(range: SampleRange & { newestFirst?: boolean }): Generator<SampleBlock> {
    const gpuIds = (range.gpuIds ?? [...this.gpusById.keys()]).filter((id) => this.gpusById.has(id));
    if (gpuIds.length === 0) return;
    const openBlocks = gpuIds.flatMap((gpuId) => {
      const rows = (this.openRows.get(gpuId) ?? []).filter((r) => r.timestamp >= range.from && r.timestamp <= range.to);
      return rows.length === 0 ? [] : [{ gpu: this.gpusById.get(gpuId)!, endTs: Math.max(...rows.map((r) => r.timestamp)), rows }];
    });
    const statement = range.newestFirst ? this.statements.chunksNewestFirst : this.statements.chunksOldestFirst;
    if (range.newestFirst) yield* openBlocks.sort((a, b) => b.endTs - a.endTs);
    for (const chunk of statement.iterate(JSON.stringify(gpuIds), range.from, range.to) as Iterable<{ gpuId: number; endTs: number; data: Buffer }>) {
      yield { gpu: this.gpusById.get(chunk.gpuId)!, endTs: chunk.endTs, rows: decodeChunk(chunk.data) };
    }
    if (!range.newestFirst) yield* openBlocks.sort((a, b) => a.endTs - b.endTs);
  }

  /** Samples in [from, to], oldest first, across sealed chunks and open rows. */
  readSamples(range: SampleRange): StoredSample[] {
    const out: StoredSample[] = [];
    for (const block of this.blocks(range)) {
      for (const row of block.rows) {
        if (row.timestamp >= range.from && row.timestamp <= range.to) out.push(toStoredSample(block.gpu, row));
      }
    }
    return out.sort((a, b) => a.timestamp - b.timestamp || a.index - b.index);
  }

  /** Stored samples per GPU id (sealed and open). */
  countSamples(): Map<number, number> {
    const counts = new Map<number, number>();
    const sealed = this.db
      .prepare(`SELECT gpuId, sum(rowCount) AS n FROM SampleChunk GROUP BY gpuId`)
      .all() as Array<{ gpuId: number; n: number }>;
    for (const { gpuId, n } of sealed) counts.set(gpuId, n);
    for (const [gpuId, rows] of this.openRows) counts.set(gpuId, (counts.get(gpuId) ?? 0) + rows.length);
    return counts;
  }

  /** Drops open rows older than `cutoff` from memory after they were deleted on disk. */
  forgetOpenRowsBefore(cutoff: number) {
    for (const [gpuId, rows] of this.openRows) {
      this.openRows.set(
        gpuId,
        rows.filter((r) => r.timestamp >= cutoff),
      );
    }
  }

  fileBytes(): number {
    return databaseFileBytes(this.dbPath);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try {
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
    }
  }
}

export function toStoredSample(gpu: StoredGpu, row: ChunkRow): StoredSample {
  const sample = { gpuId: gpu.id, uuid: gpu.uuid, index: gpu.index, timestamp: row.timestamp } as StoredSample;
  for (const key of METRIC_KEYS) sample[key] = row[key];
  return sample;
}

/** A GPU the source never described (e.g. a replay file without names). */
function fallbackInfo(sample: GpuSample): GpuInfo {
  return {
    uuid: sample.uuid,
    index: sample.index,
    name: `GPU ${sample.index}`,
    memoryTotalMib: sample.memoryTotalMib,
    powerLimitW: sample.powerLimitW,
    maxGraphicsClockMhz: sample.maxGraphicsClockMhz,
    maxMemoryClockMhz: sample.maxMemoryClockMhz,
    baseClockMhz: sample.baseClockMhz,
    driverVersion: null,
  };
}
