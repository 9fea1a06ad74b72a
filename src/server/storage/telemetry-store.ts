import Database from "better-sqlite3";
import { decodeChunk, encodeChunk, type ChunkRow } from "./chunk-codec";
import { summarizeChunk } from "./period-summaries";
import { addSummary, type MetricSummary } from "./metric-summary";
import { DecodedColumns } from "./decoded-columns";
import { DecodedChunks } from "./decoded-chunks";
import { SeriesBucketCache } from "./series-bucket-cache";
import { RollupTier } from "./rollup-tiers";
import { GpuEventLog } from "./gpu-events";
import { ProcessSessionLog } from "./process-sessions";
import type { SummaryStreamRow } from "./summary-stream";
import { prepareStoreStatements, RECENT_COLUMNS, type StoreStatements } from "./store-statements";
import { databaseFileBytes, openDatabase, type SqliteDatabase } from "./database";
import { METRIC_KEYS, type GpuInfo, type GpuMetrics, type GpuSample } from "../../telemetry/types";
import { describeRejectedValue, storableGpuInfo, storableSample, storableTimestamp, storableValue } from "../sources/storable-readings";
import { QuarantineWriter } from "./quarantine";
import { compileFunction, perMetric } from "../per-metric-code";
import { DAY_MS, HOUR_MS, slotStart } from "./time-slots";

export { DAY_MS, HOUR_MS, slotStart } from "./time-slots";

/**
 * The sample store. New samples go to `RecentSample` as plain rows on every
 * flush (so a crash loses at most one flush); once a GPU has a chunk's worth,
 * they are sealed into one compressed `SampleChunk` row. Queries read both.
 * This module knows nothing of HTTP or of where samples come from.
 */

export interface StoreOptions {
  /** Most samples in one sealed chunk. */
  chunkMaxRows: number;
  /**
   * Wall-clock slot a chunk stays inside (epoch-aligned; divides an hour). Chunks
   * never straddle slots, so a range cut at slot edges is answered from chunk
   * summaries and hourly rollups without decoding samples.
   */
  slotMs: number;
}

const DAILY_MIGRATION = "_daily_rollups";
const SUMMARIES_MIGRATION = "_chunk_summaries_hourly_rollups";
export const DEFAULT_STORE_OPTIONS: StoreOptions = { chunkMaxRows: 3600, slotMs: 600_000 };

export interface StoredSample extends GpuMetrics {
  gpuId: number;
  uuid: string;
  index: number;
  timestamp: number;
}

/** A stored reading with its GPU's index, UUID and name, as the API hands readings out. */
export interface NamedSample extends GpuMetrics {
  gpuIndex: number;
  gpuUuid: string;
  gpuName: string;
  timestamp: number;
}

export interface SampleTotals {
  records: number;
  /** Timestamps of the oldest and newest sample; null when there is none. */
  oldest: number | null;
  newest: number | null;
}

export interface StoredGpu extends GpuInfo {
  id: number;
  firstSeen: number;
  lastSeen: number;
}

export interface SampleBlock {
  gpu: StoredGpu;
  /** Oldest timestamp in the block. */
  startTs: number;
  /** Newest timestamp in the block. */
  endTs: number;
  rows: readonly ChunkRow[];
  /** A sealed chunk (its rows all in one slot), or a GPU's open rows. */
  sealed: boolean;
}

/** A block of blocks() whose sealed chunk may still be encoded: its rows, or its chunk's data. */
export interface BlockContent extends Omit<SampleBlock, "rows"> {
  content: readonly ChunkRow[] | { id: number; data: Buffer };
}

const openContent = ({ rows, ...block }: SampleBlock): BlockContent => ({ ...block, content: rows });

/**
 * A GPU's samples not yet sealed into a chunk, oldest first. The first
 * `recentIds.length` of them are already in RecentSample, with those ids;
 * the rest exist only inside a write in progress.
 */
interface OpenRows {
  rows: ChunkRow[];
  recentIds: number[];
}

/** lastSeen on disk is refreshed at most this often: one row update per flush would cost a page write each time. */
const LAST_SEEN_PERSIST_MS = 60_000;

export interface SampleRange {
  from: number;
  to: number;
  /** Restrict to these GPU ids; all GPUs when omitted. */
  gpuIds?: number[];
}

/** Sealed chunks read per query while walking a range. */
const CHUNK_PAGE = 16;
/**
 * Bytes of decoded sealed chunks kept in memory: 32 full chunks of 600 rows,
 * enough for the largest history the API gives (10,000 records of 8 GPUs) and
 * the chunk looked at past it; when that did not fit, each such history
 * decoded every one of its chunks again.
 */
export const DECODED_BYTES_KEPT = 10 * 2 ** 20;
/** Decoded chart columns kept: 4 MiB holds 6 hours of one GPU (36 chunks) in five columns four times over. */
export const DECODED_COLUMN_BYTES_KEPT = 4 * 2 ** 20;
/**
 * Chart buckets of sealed samples kept: four metrics in 1000 buckets are about 140 KB a GPU and
 * span, so 8 MiB holds every preset span of eight GPUs; the History page's six metrics with the
 * clock reasons in 600 buckets are about 0.3 MB a GPU and span, three spans of eight GPUs.
 */
export const SERIES_BUCKET_BYTES_KEPT = 8 * 2 ** 20;

/**
 * Chunk summaries summed per period of a rollup tier (hour or day), so that each period's
 * rollup is read, merged and written once for a write's chunks instead of once per chunk.
 * Summaries hold integers, summed exactly in any order below 2^53: the rollup is the same.
 */
class PeriodSums {
  private readonly sums = new Map<number, { rowCount: number; summary: MetricSummary }>();

  constructor(private readonly periodMs: number) {}

  add(chunkStart: number, rowCount: number, summary: MetricSummary) {
    const start = slotStart(chunkStart, this.periodMs);
    const sum = this.sums.get(start);
    if (sum === undefined) this.sums.set(start, { rowCount, summary: Float64Array.from(summary) });
    else {
      sum.rowCount += rowCount;
      addSummary(sum.summary, summary);
    }
  }

  foldInto(tier: RollupTier, gpuId: number) {
    for (const [start, { rowCount, summary }] of this.sums) tier.add(gpuId, start, rowCount, summary);
  }
}

/** How writeImportBatch writes an import's batch. */
export interface ImportBatchOptions {
  /** Every sample has been through storableSample already (the import checks each to name its line): not checked again. */
  storable: boolean;
  /**
   * Rows left unsealed stay in memory only, not in RecentSample, until persistOpenRows() or
   * close(): an import's batches leave some of each GPU's rows open every time, sealed by the
   * next batch, so each would be written and deleted again. Only a crash loses them before
   * that, and importing the file again adds what is missing.
   */
  openRowsInMemory: boolean;
}

interface ChunkExtent {
  id: number;
  gpuId: number;
  startTs: number;
  endTs: number;
}

interface ChunkData {
  id: number;
  data: Buffer;
}

type ChunkRecord = ChunkExtent & ChunkData;

export class TelemetryStore {
  private readonly gpuIdsByUuid = new Map<string, number>();
  private readonly gpusById = new Map<number, StoredGpu>();
  private readonly openRows = new Map<number, OpenRows>();
  private readonly decodedChunks = new DecodedChunks(DECODED_BYTES_KEPT);
  readonly decodedColumns = new DecodedColumns(DECODED_COLUMN_BYTES_KEPT);
  /** Chart buckets of sealed samples; whatever changes sealed samples says which time it touched. */
  readonly sealedBuckets = new SeriesBucketCache(SERIES_BUCKET_BYTES_KEPT);
  private readonly persistedLastSeen = new Map<number, number>();
  private readonly hourly: RollupTier;
  private readonly daily: RollupTier;
  private readonly statements: StoreStatements;
  private readonly quarantine: QuarantineWriter;
  /** What happened to each GPU and to the recorder (gpu-events.ts). */
  readonly events: GpuEventLog;
  /** Which process used which GPU, when and how much (process-sessions.ts). */
  readonly sessions: ProcessSessionLog;
  /** One GPU's part of a write, in a savepoint: a failure there is that GPU's alone. */
  private readonly persistGpuRows: (gpuId: number, open: OpenRows, openInMemory: boolean) => OpenRows;
  private closed = false;

  private constructor(
    readonly db: SqliteDatabase,
    readonly dbPath: string,
    readonly options: StoreOptions,
  ) {
    if (HOUR_MS % options.slotMs !== 0) throw new Error(`slotMs must divide an hour (got ${options.slotMs})`);
    this.hourly = new RollupTier(db, "HourlyRollup", "hourStart", HOUR_MS);
    this.daily = new RollupTier(db, "DailyRollup", "dayStart", DAY_MS);
    this.statements = prepareStoreStatements(db);
    this.quarantine = new QuarantineWriter(db);
    this.events = new GpuEventLog(db);
    this.sessions = new ProcessSessionLog(db);
    this.persistGpuRows = db.transaction((gpuId: number, open: OpenRows, openInMemory: boolean) => {
      const left = this.sealFullChunks(gpuId, open);
      if (openInMemory) return left;
      for (let i = left.recentIds.length; i < left.rows.length; i++) left.recentIds.push(this.insertRecent(gpuId, left.rows[i]));
      return left;
    });
    this.loadState();
    // Whatever the last run left open ended, as far as anyone can tell, when it was last seen.
    this.sessions.closeOpen();
  }

  static open(dbPath: string, options: StoreOptions = DEFAULT_STORE_OPTIONS) {
    const { db, appliedMigrations, pageSizeChange } = openDatabase(dbPath);
    try {
      const store = new TelemetryStore(db, dbPath, options);
      // Chunks without a summary can only predate the migration that added summaries.
      if (appliedMigrations.some((name) => name.endsWith(SUMMARIES_MIGRATION))) store.backfillSummaries();
      if (appliedMigrations.some((name) => name.endsWith(DAILY_MIGRATION))) store.backfillDailyRollups();
      return { store, appliedMigrations, pageSizeChange };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  private loadState() {
    const gpus = this.db.prepare(`SELECT * FROM Gpu`).all() as Array<StoredGpu>;
    for (const gpu of gpus) this.rememberGpu(gpu);
    // Read as BigInt: a value past 2^53 written by an older version would make a plain read throw for every row.
    const recent = this.db.prepare(`SELECT * FROM RecentSample ORDER BY id`).safeIntegers(true).all() as Array<
      Record<(typeof RECENT_COLUMNS)[number] | "id", bigint | number | null>
    >;
    this.db.transaction(() => {
      for (const stored of recent) {
        const id = Number(stored.id);
        const gpuId = Number(stored.gpuId);
        const row = this.reloadedRow(id, gpuId, stored);
        if (row === null) continue;
        const open = this.openRowsOf(gpuId);
        open.rows.push(row);
        open.recentIds.push(id);
      }
    })();
    for (const gpu of gpus) this.persistedLastSeen.set(gpu.id, gpu.lastSeen);
  }

  /**
   * An unsealed row as it will be sealed. A row holding what storage cannot
   * encode (left by an older version) would fail sealing after every restart:
   * its bad values are moved aside and the rest kept, or, without a usable
   * time, the whole row is.
   */
  private reloadedRow(id: number, gpuId: number, stored: Record<string, bigint | number | null>): ChunkRow | null {
    const asNumber = (value: bigint | number | null) => (typeof value === "bigint" ? Number(value) : value);
    const timestamp = asNumber(stored.ts);
    if (!storableTimestamp(timestamp)) {
      this.quarantine.add(gpuId, null, `time ${describeRejectedValue(stored.ts)} cannot be stored`, stored);
      this.statements.deleteRecent.run(id);
      return null;
    }
    const row = { timestamp } as ChunkRow;
    const bad: string[] = [];
    for (const key of METRIC_KEYS) {
      const value = storableValue(key, asNumber(stored[key]));
      if (value === undefined) bad.push(`${key} = ${describeRejectedValue(stored[key])}`);
      row[key] = value ?? null;
    }
    if (bad.length > 0) {
      this.quarantine.add(gpuId, timestamp, keptAsMissing(bad), stored);
      this.statements.rewriteRecent.run(...METRIC_KEYS.map((key) => row[key]), id);
    }
    return row;
  }

  private rememberGpu(gpu: StoredGpu) {
    this.gpuIdsByUuid.set(gpu.uuid, gpu.id);
    this.gpusById.set(gpu.id, { ...gpu });
  }

  private openRowsOf(gpuId: number): OpenRows {
    let open = this.openRows.get(gpuId);
    if (!open) this.openRows.set(gpuId, (open = { rows: [], recentIds: [] }));
    return open;
  }

  gpus(): StoredGpu[] {
    return [...this.gpusById.values()].sort((a, b) => a.index - b.index || a.id - b.id);
  }

  gpuByUuid(uuid: string): StoredGpu | undefined {
    const id = this.gpuIdsByUuid.get(uuid);
    return id === undefined ? undefined : this.gpusById.get(id);
  }

  /** Inserts or refreshes the static facts of GPUs; returns their ids. */
  registerGpus(given: readonly GpuInfo[], seenAt = Date.now()): number[] {
    const infos = given.map(storableGpuInfo).filter((info) => info !== null);
    return this.db.transaction(() => infos.map((info) => this.upsertGpu(info, seenAt)))();
  }

  /** `info` must be storable (storableGpuInfo). */
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
   * through `infoFor`. Returns how many samples were taken. A value storage
   * cannot hold is kept as missing and the sample as given is moved aside
   * (quarantined), as is one without a usable time; a GPU whose rows fail to
   * seal has them moved aside, and the other GPUs' rows are written all the
   * same. Only a failure of the database itself fails the write: then nothing
   * is stored and the in-memory state is unchanged, so the caller can retry the
   * same batch. `alongside` writes more in the same transaction (the process sessions).
   */
  writeSamples(samples: readonly GpuSample[], infoFor: (uuid: string) => GpuInfo | undefined, alongside?: () => void): number {
    return this.write(samples, infoFor, alongside, { storable: false, openRowsInMemory: false });
  }

  /** writeSamples for one of an import's batches, written as `options` say. */
  writeImportBatch(samples: readonly GpuSample[], infoFor: (uuid: string) => GpuInfo | undefined, options: ImportBatchOptions): number {
    return this.write(samples, infoFor, undefined, options);
  }

  /**
   * Writes the open rows kept in memory only (writeImportBatch's openRowsInMemory) to
   * RecentSample, in one transaction; close() does so too.
   */
  persistOpenRows() {
    if (![...this.openRows.values()].some((open) => open.recentIds.length < open.rows.length)) return;
    const inserted = new Map<number, number[]>();
    this.db.transaction(() => {
      for (const [gpuId, open] of this.openRows) {
        const ids: number[] = [];
        for (let i = open.recentIds.length; i < open.rows.length; i++) ids.push(this.insertRecent(gpuId, open.rows[i]));
        if (ids.length > 0) inserted.set(gpuId, ids);
      }
    })();
    // Only once the transaction held: until then the rows are still in memory only.
    for (const [gpuId, ids] of inserted) this.openRows.get(gpuId)!.recentIds.push(...ids);
  }

  private write(
    samples: readonly GpuSample[],
    infoFor: (uuid: string) => GpuInfo | undefined,
    alongside: (() => void) | undefined,
    { storable, openRowsInMemory }: ImportBatchOptions,
  ): number {
    if (samples.length === 0) return 0;
    /** Per GPU id, its open rows with this write's added, and the newest time among those. */
    const pending = new Map<number, { open: OpenRows; lastSeen: number }>();
    // The same by uuid, for the samples taken as they are: one lookup a sample.
    const pendingByUuid = new Map<string, { open: OpenRows; lastSeen: number }>();
    const registered: StoredGpu[] = [];
    const persisted = new Map<number, number>();
    const rejected: string[] = [];
    const noteRejected = (_sample: GpuSample, field: string, value: unknown) =>
      void rejected.push(`${field} = ${describeRejectedValue(value)}`);
    const write = this.db.transaction(() => {
      for (const given of samples) {
        if (rejected.length > 0) rejected.length = 0;
        const sample = storable ? given : storableSample(given, noteRejected);
        let gpu = sample === null || rejected.length > 0 ? undefined : pendingByUuid.get(given.uuid);
        if (gpu === undefined) {
          let gpuId = this.gpuIdsByUuid.get(given.uuid);
          if (gpuId === undefined && sample !== null) {
            const described = infoFor(sample.uuid);
            // The sample itself is storable, so the facts made from it are too.
            const info = (described && storableGpuInfo(described)) ?? storableGpuInfo(fallbackInfo(sample))!;
            gpuId = this.upsertGpu(info, sample.timestamp);
            registered.push(this.gpusById.get(gpuId)!);
          }
          if (rejected.length > 0) {
            const reason = sample === null ? `${rejected.join(", ")}: no usable time` : keptAsMissing(rejected);
            // A GPU first seen in a sample without a usable time or index is not registered: 0 stands for it.
            this.quarantine.add(gpuId ?? 0, sample?.timestamp ?? null, reason, given);
          }
          if (sample === null || gpuId === undefined) continue;
          gpu = pending.get(gpuId);
          if (!gpu) {
            const current = this.openRows.get(gpuId);
            const open = { rows: current ? current.rows.slice() : [], recentIds: current ? current.recentIds.slice() : [] };
            pending.set(gpuId, (gpu = { open, lastSeen: -Infinity }));
          }
          pendingByUuid.set(given.uuid, gpu);
        }
        // Samples are kept as they are (a GpuSample is a ChunkRow); nobody changes them after collection.
        gpu.open.rows.push(sample!);
        if (sample!.timestamp > gpu.lastSeen) gpu.lastSeen = sample!.timestamp;
      }
      for (const [gpuId, gpu] of pending) {
        gpu.open = this.persistOrSetAside(gpuId, gpu.open, openRowsInMemory);
        const seen = gpu.lastSeen;
        if (seen - (this.persistedLastSeen.get(gpuId) ?? 0) >= LAST_SEEN_PERSIST_MS) {
          this.statements.touchGpu.run(seen, gpuId);
          persisted.set(gpuId, seen);
        }
      }
      alongside?.();
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
    for (const [gpuId, at] of persisted) this.persistedLastSeen.set(gpuId, at);
    for (const [gpuId, { open, lastSeen }] of pending) {
      this.openRows.set(gpuId, open);
      const gpu = this.gpusById.get(gpuId)!;
      gpu.lastSeen = Math.max(gpu.lastSeen, lastSeen);
    }
    return samples.length;
  }

  /**
   * Seals and stores one GPU's open rows. When that fails for any reason but the
   * database's own (a row the codec refuses), the rows are moved aside instead of
   * being kept open: kept, they would fail again at every flush and every restart.
   */
  private persistOrSetAside(gpuId: number, open: OpenRows, openInMemory: boolean): OpenRows {
    try {
      return this.persistGpuRows(gpuId, open, openInMemory);
    } catch (error) {
      if (error instanceof Database.SqliteError) throw error;
      const reason = `sealing failed: ${error instanceof Error ? error.message : String(error)}`;
      for (const row of open.rows) this.quarantine.add(gpuId, row.timestamp, reason, row);
      for (const id of open.recentIds) this.statements.deleteRecent.run(id);
      return { rows: [], recentIds: [] };
    }
  }

  /** Samples moved aside because they could not be written as they were. */
  quarantinedRows(): number {
    return this.quarantine.count();
  }

  /** Seals leading rows into chunks while a chunk's worth is waiting; returns the rows still open. */
  private sealFullChunks(gpuId: number, open: OpenRows): OpenRows {
    const { rows, recentIds } = open;
    // The chunks' summaries go into their hours and days once per period, summed first.
    const hours = new PeriodSums(HOUR_MS);
    const days = new PeriodSums(DAY_MS);
    let start = 0;
    while (start < rows.length) {
      const take = this.rowsForNextChunk(rows, start);
      if (take === 0) break;
      const { startTs, total } = this.insertChunk(gpuId, rows.slice(start, start + take));
      hours.add(startTs, take, total);
      days.add(startTs, take, total);
      const persistedEnd = Math.min(start + take, recentIds.length);
      if (persistedEnd > start) this.statements.deleteRecentUpTo.run(gpuId, recentIds[persistedEnd - 1]);
      start += take;
    }
    hours.foldInto(this.hourly, gpuId);
    days.foldInto(this.daily, gpuId);
    return start === 0 ? open : { rows: rows.slice(start), recentIds: recentIds.slice(Math.min(start, recentIds.length)) };
  }

  /**
   * How many rows from `start` form a sealed chunk now (0 = keep them open): the
   * run of rows in the same slot, once a row of another slot follows it or the
   * run reaches the row limit.
   */
  private rowsForNextChunk(rows: ChunkRow[], start: number): number {
    const { chunkMaxRows, slotMs } = this.options;
    const slot = slotStart(rows[start].timestamp, slotMs);
    // In the slot: slotStart(timestamp) === slot, for the whole-ms times stored.
    const slotEnd = slot + slotMs;
    let end = start + 1;
    while (end < rows.length && end - start < chunkMaxRows) {
      const timestamp = rows[end].timestamp;
      if (timestamp < slot || timestamp >= slotEnd) break;
      end++;
    }
    const full = end - start >= chunkMaxRows;
    return full || end < rows.length ? end - start : 0;
  }

  /** Writes one chunk with its summary; returns its first time and its summary's total, for the rollups. */
  private insertChunk(gpuId: number, rows: readonly ChunkRow[]): { startTs: number; total: MetricSummary } {
    let startTs = Infinity;
    let endTs = -Infinity;
    for (const r of rows) {
      if (r.timestamp < startTs) startTs = r.timestamp;
      if (r.timestamp > endTs) endTs = r.timestamp;
    }
    const { periods, total } = summarizeChunk(rows);
    this.statements.insertChunk.run(gpuId, startTs, endTs, rows.length, encodeChunk(rows), periods);
    // Forgotten even should the write roll back: a bucket read again costs only time.
    this.sealedBuckets.forget(gpuId, startTs, endTs);
    return { startTs, total };
  }

  /** Folds a sealed chunk's summary into its hour's and its day's rollup. */
  private addToRollups(gpuId: number, chunkStart: number, rowCount: number, summary: Float64Array) {
    this.hourly.add(gpuId, chunkStart, rowCount, summary);
    this.daily.add(gpuId, chunkStart, rowCount, summary);
  }

  /** Days that had hourly rollups before daily ones existed get theirs once, at open. */
  private backfillDailyRollups() {
    const days = this.db
      .prepare(`SELECT DISTINCT gpuId, (hourStart / ${DAY_MS}) * ${DAY_MS} AS dayStart FROM HourlyRollup`)
      .all() as Array<{
      gpuId: number;
      dayStart: number;
    }>;
    this.db.transaction(() => {
      for (const { gpuId, dayStart } of days) this.rebuildDailyRollup(gpuId, dayStart);
    })();
  }

  /** Chunks written before summaries existed get theirs (and their rollups) once, at open. */
  private backfillSummaries() {
    const missing = this.db.prepare(`SELECT id, gpuId, startTs, rowCount, data FROM SampleChunk WHERE length(summary) = 0`).all() as Array<{
      id: number;
      gpuId: number;
      startTs: number;
      rowCount: number;
      data: Buffer;
    }>;
    if (missing.length === 0) return;
    const update = this.db.prepare(`UPDATE SampleChunk SET summary = ? WHERE id = ?`);
    this.db.transaction(() => {
      for (const chunk of missing) {
        const { periods, total } = summarizeChunk(decodeChunk(chunk.data));
        update.run(periods, chunk.id);
        this.addToRollups(chunk.gpuId, chunk.startTs, chunk.rowCount, total);
      }
    })();
  }

  private insertRecent(gpuId: number, row: ChunkRow): number {
    return Number(this.statements.insertRecent.run(recentValues(gpuId, row)).lastInsertRowid);
  }

  /**
   * The stored samples overlapping [from, to] as blocks (one sealed chunk, or a
   * GPU's open rows), oldest or newest block first. Rows inside a block are in
   * write order and not yet filtered to the range; callers stop early when they
   * have enough, so long ranges cost only what is read.
   *
   * The blocks are the data as it was when the first block was asked for. No
   * statement stays open between blocks: a consumer may pause (an export waiting
   * for a slow client), and an open statement would keep every write out of the
   * connection meanwhile. Chunks are therefore read a page at a time, and those
   * sealed after the start are left out, as their rows are in the open blocks.
   */
  *blocks(range: SampleRange & { newestFirst?: boolean }): Generator<SampleBlock> {
    for (const { content, ...block } of this.blockContents(range)) {
      // Only the newest-first walks (histories, polled again and again) keep what they decode.
      const rows = "data" in content ? this.decodedChunks.decode(content, range.newestFirst === true) : content;
      yield { ...block, rows };
    }
  }

  /**
   * The blocks of blocks(), each sealed chunk as its encoded data unless its decoded rows are
   * kept: for a reader that decodes only the columns it needs (the export), without row objects.
   */
  *blockContents(range: SampleRange & { newestFirst?: boolean }): Generator<BlockContent> {
    const gpuIds = (range.gpuIds ?? [...this.gpusById.keys()]).filter((id) => this.gpusById.has(id));
    if (gpuIds.length === 0) return;
    const openBlocks = [...this.openBlocks(gpuIds, range)];
    const lastId = this.statements.lastChunkId.get() as number;
    const statement = range.newestFirst ? this.statements.chunksNewestFirst : this.statements.chunksOldestFirst;
    if (range.newestFirst) yield* openBlocks.sort((a, b) => b.endTs - a.endTs).map(openContent);
    const cursor = range.newestFirst
      ? { afterTs: Number.MAX_SAFE_INTEGER, afterId: Number.MAX_SAFE_INTEGER }
      : { afterTs: Number.MIN_SAFE_INTEGER, afterId: 0 };
    const ids = JSON.stringify(gpuIds);
    for (;;) {
      const page = statement.all({ gpuIds: ids, from: range.from, to: range.to, lastId, ...cursor, limit: CHUNK_PAGE }) as ChunkExtent[];
      const contents = this.contentsOf(page);
      for (const [i, chunk] of page.entries()) {
        yield { gpu: this.gpusById.get(chunk.gpuId)!, startTs: chunk.startTs, endTs: chunk.endTs, content: contents[i], sealed: true };
      }
      if (page.length < CHUNK_PAGE) break;
      const last = page[page.length - 1];
      cursor.afterTs = last.startTs;
      cursor.afterId = last.id;
    }
    if (!range.newestFirst) yield* openBlocks.sort((a, b) => a.endTs - b.endTs).map(openContent);
  }

  /**
   * Each chunk's rows when decoded ones are kept, its encoded data otherwise,
   * taken now: what a page holds stays readable while its consumer pauses, even
   * if the chunk is pruned or drops out of the kept ones meanwhile. Kept chunks
   * (the newest ones, which dashboards ask for) cost no blob read.
   */
  private contentsOf(page: readonly ChunkExtent[]): Array<readonly ChunkRow[] | ChunkData> {
    const kept = page.map((chunk) => this.decodedChunks.kept(chunk.id));
    const missing = page.filter((_, i) => kept[i] === undefined).map((chunk) => chunk.id);
    // Read right after the page, with no write in between: every chunk of the page is there.
    const read = missing.length === 0 ? [] : (this.statements.chunkData.all(JSON.stringify(missing)) as ChunkData[]);
    const byId = new Map(read.map((chunk) => [chunk.id, chunk]));
    return page.map((chunk, i) => kept[i] ?? byId.get(chunk.id)!);
  }

  /**
   * Encoded summaries (metric-summary.ts) of the sealed chunks whose slot starts in [from, to), as
   * [startTs, rowCount, summary, id] arrays: a week of one GPU is 1,008 chunks, and an object for
   * each cost a fifth of reading them.
   */
  chunkSummaryRows(gpuIds: number[], from: number, to: number): Array<[number, number, Buffer, number]> {
    if (from >= to) return [];
    return this.statements.chunkSummaryRowsIn.all(JSON.stringify(gpuIds), from, to) as Array<[number, number, Buffer, number]>;
  }

  /** Encoded hourly rollups with hourStart in [from, to), as [hourStart, rowCount, summary] arrays: 90 days of one GPU are 2,160 rollups. */
  hourlyRollupRows(gpuIds: number[], from: number, to: number): Array<[number, number, Buffer]> {
    if (from >= to) return [];
    return this.hourly.withinRows.all(JSON.stringify(gpuIds), from, to) as Array<[number, number, Buffer]>;
  }

  /**
   * The same summaries as chunkSummaryRows, as one stream row (summary-stream.ts): a row each
   * costs better-sqlite3 an array and a Buffer, more than decoding the summary in it.
   */
  chunkSummaryStream(gpuIds: number[], from: number, to: number): SummaryStreamRow | undefined {
    if (from >= to) return undefined;
    return this.statements.chunkSummaryStreamIn.get(JSON.stringify(gpuIds), from, to) as SummaryStreamRow | undefined;
  }

  /** The same rollups as hourlyRollupRows, as one stream row (summary-stream.ts). */
  hourlyRollupStream(gpuIds: number[], from: number, to: number): SummaryStreamRow | undefined {
    if (from >= to) return undefined;
    return this.hourly.withinStream.get(JSON.stringify(gpuIds), from, to) as SummaryStreamRow | undefined;
  }

  /** Encoded daily rollups with dayStart in [from, to), as one stream row (summary-stream.ts). */
  dailyRollupStream(gpuIds: number[], from: number, to: number): SummaryStreamRow | undefined {
    if (from >= to) return undefined;
    return this.daily.withinStream.get(JSON.stringify(gpuIds), from, to) as SummaryStreamRow | undefined;
  }

  /** Decoded sealed chunks whose slot starts in [from, to). */
  *chunksStartingIn(gpuIds: number[], from: number, to: number): Generator<SampleBlock> {
    if (from >= to) return;
    for (const chunk of this.statements.chunksStartingIn.iterate(JSON.stringify(gpuIds), from, to) as Iterable<ChunkRecord>) {
      yield {
        gpu: this.gpusById.get(chunk.gpuId)!,
        startTs: chunk.startTs,
        endTs: chunk.endTs,
        rows: this.decodedChunks.decode(chunk),
        sealed: true,
      };
    }
  }

  /**
   * Sealed chunks whose slot starts in [from, to): their decoded rows where those are kept, their
   * encoded data otherwise, left for the caller to decode as much of as it needs (and not kept).
   */
  *chunkContentsStartingIn(
    gpuIds: number[],
    from: number,
    to: number,
  ): Generator<{ rows: readonly ChunkRow[] } | { id: number; data: Buffer }> {
    if (from >= to) return;
    for (const chunk of this.statements.chunksStartingIn.iterate(JSON.stringify(gpuIds), from, to) as Iterable<ChunkRecord>) {
      const rows = this.decodedChunks.kept(chunk.id);
      yield rows ? { rows } : { id: chunk.id, data: chunk.data };
    }
  }

  /** One sealed chunk's rows (none when it is gone). */
  chunkRows(id: number): readonly ChunkRow[] {
    const kept = this.decodedChunks.kept(id);
    if (kept) return kept;
    const [chunk] = this.statements.chunkData.all(JSON.stringify([id])) as ChunkData[];
    return chunk ? this.decodedChunks.decode(chunk) : [];
  }

  /** Oldest and newest timestamp of the sealed chunks whose slot starts in [from, to]. */
  sealedExtent(gpuIds: number[], from: number, to: number): { first: number; last: number } | null {
    if (from > to) return null;
    const ids = JSON.stringify(gpuIds);
    const first = this.statements.firstChunkIn.get(ids, from, to) as { startTs: number } | undefined;
    const last = this.statements.lastChunkIn.get(ids, from, to) as { endTs: number } | undefined;
    return first && last ? { first: first.startTs, last: last.endTs } : null;
  }

  /** Rows not yet sealed into a chunk, per GPU; only those inside `range` when one is given. */
  *openBlocks(gpuIds: number[], range?: { from: number; to: number }): Generator<SampleBlock> {
    for (const gpuId of gpuIds) {
      const all = this.openRows.get(gpuId)?.rows ?? [];
      const rows = range ? all.filter((r) => r.timestamp >= range.from && r.timestamp <= range.to) : all;
      const gpu = this.gpusById.get(gpuId);
      if (gpu && rows.length > 0) yield blockOfRows(gpu, rows);
    }
  }

  /** Every GPU id when `gpuIds` is undefined; otherwise the known ones among them. */
  resolveGpuIds(gpuIds?: number[]): number[] {
    return (gpuIds ?? [...this.gpusById.keys()]).filter((id) => this.gpusById.has(id));
  }

  /** Recomputes an hour's rollup from the chunks left in it (after pruning some of them). */
  rebuildRollup(gpuId: number, hourStart: number) {
    this.sealedBuckets.forget(gpuId, hourStart, hourStart + HOUR_MS - 1);
    this.hourly.resum(gpuId, hourStart, this.chunkSummaryRows([gpuId], hourStart, hourStart + HOUR_MS));
    this.rebuildDailyRollup(gpuId, slotStart(hourStart, DAY_MS));
  }

  /** Recomputes a day's rollup from the hourly rollups left in it. */
  rebuildDailyRollup(gpuId: number, dayStart: number) {
    this.daily.resum(gpuId, dayStart, this.hourlyRollupRows([gpuId], dayStart, dayStart + DAY_MS));
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

  /**
   * Per GPU id: samples stored (sealed and open), the oldest and the newest.
   * Counts come from the daily rollups and the ends from index seeks, so this
   * costs the same on a 90-day database as on a new one, where a scan of the
   * chunks held the event loop for over 100 ms.
   */
  sampleTotals(): Map<number, SampleTotals> {
    const sealedCounts = new Map(
      (this.statements.sealedCountsByGpu.all() as Array<{ gpuId: number; records: number }>).map((r) => [r.gpuId, r.records]),
    );
    const totals = new Map<number, SampleTotals>();
    for (const gpuId of this.gpusById.keys()) {
      const starts = this.statements.sealedStarts.get({ gpuId }) as { first: number | null; last: number | null };
      // The chunk that ends last starts in the last chunk's slot: a chunk's rows never leave its slot.
      const lastEnd =
        starts.last === null ? null : (this.statements.lastEndFrom.get(gpuId, slotStart(starts.last, this.options.slotMs)) as number);
      const open = this.openRows.get(gpuId)?.rows ?? [];
      let oldest = starts.first;
      let newest = lastEnd;
      for (const row of open) {
        if (oldest === null || row.timestamp < oldest) oldest = row.timestamp;
        if (newest === null || row.timestamp > newest) newest = row.timestamp;
      }
      totals.set(gpuId, { records: (sealedCounts.get(gpuId) ?? 0) + open.length, oldest, newest });
    }
    return totals;
  }

  /** Sealed samples older than `cutoff` were deleted (every GPU's): chart buckets kept of that time go. */
  forgetSealedBefore(cutoff: number) {
    this.sealedBuckets.forget(undefined, -Infinity, cutoff - 1);
  }

  /** Drops open rows older than `cutoff` from memory after they were deleted on disk. */
  forgetOpenRowsBefore(cutoff: number) {
    for (const [gpuId, open] of this.openRows) {
      const kept: OpenRows = { rows: [], recentIds: [] };
      open.rows.forEach((row, i) => {
        if (row.timestamp < cutoff) return;
        kept.rows.push(row);
        if (i < open.recentIds.length) kept.recentIds.push(open.recentIds[i]);
      });
      this.openRows.set(gpuId, kept);
    }
  }

  /** Estimated bytes of decoded chunks kept in memory (at most DECODED_BYTES_KEPT). */
  decodedBytes(): number {
    return this.decodedChunks.bytes;
  }

  /** Bytes of decoded chart columns kept in memory (at most DECODED_COLUMN_BYTES_KEPT). */
  decodedColumnBytes(): number {
    return this.decodedColumns.bytes;
  }

  /** Bytes of chart buckets kept in memory (at most SERIES_BUCKET_BYTES_KEPT). */
  seriesBucketBytes(): number {
    return this.sealedBuckets.bytes;
  }

  fileBytes(): number {
    return databaseFileBytes(this.dbPath);
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    try {
      this.persistOpenRows();
      this.db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      this.db.close();
    }
  }
}

function blockOfRows(gpu: StoredGpu, rows: ChunkRow[]): SampleBlock {
  let startTs = Infinity;
  let endTs = -Infinity;
  for (const row of rows) {
    if (row.timestamp < startTs) startTs = row.timestamp;
    if (row.timestamp > endTs) endTs = row.timestamp;
  }
  return { gpu, startTs, endTs, rows, sealed: false };
}

/**
 * Written out field by field, from the catalogue: a fixed-shape literal is several
 * times faster to build, read and serialise than an object filled in a loop over
 * the metric names, which V8 keeps as a slow dictionary.
 */
export const namedSample = compileFunction<(gpu: StoredGpu, row: ChunkRow) => NamedSample>(
  "namedSample",
  ["gpu", "row"],
  `return {
  gpuIndex: gpu.index,
  gpuUuid: gpu.uuid,
  gpuName: gpu.name,
  timestamp: row.timestamp,
${perMetric((metric) => `  ${metric.key}: row.${metric.key},`)}
};`,
);

export function toStoredSample(gpu: StoredGpu, row: ChunkRow): StoredSample {
  const { gpuIndex, gpuUuid, gpuName: _name, ...reading } = namedSample(gpu, row);
  return { gpuId: gpu.id, uuid: gpuUuid, index: gpuIndex, ...reading };
}

/** Why a row was set aside whose values named in `bad` ("powerDrawW = 1e+20") were stored as missing. */
const keptAsMissing = (bad: readonly string[]) => `${bad.join(", ")} cannot be stored exactly; kept as missing`;

/** A GPU the source never described (e.g. a replay file without names): its facts as its sample gives them. */
export function fallbackInfo(sample: GpuSample): GpuInfo {
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

/** One RecentSample row's values (RECENT_COLUMNS), in one array reused row after row: run() reads it before it returns. */
const recentRow: Array<number | null> = new Array<number | null>(2 + METRIC_KEYS.length).fill(null);
const recentValues = compileFunction<(gpuId: number, row: ChunkRow) => Array<number | null>>(
  "recentValues",
  ["gpuId", "row"],
  `recentRow[0] = gpuId;
recentRow[1] = row.timestamp;
${perMetric((metric, column) => `recentRow[${column + 2}] = row.${metric.key};`)}
return recentRow;`,
  { recentRow },
);
