import fs from "node:fs";
import type { Logger } from "../logger";
import { acquireInstanceLock, InstanceLockedError, type InstanceLock } from "./instance-lock";
import type { PrismaClient } from "./prisma-client";
import { limitWal } from "./database";
import { prune, type PrunePolicy, type PruneResult } from "./retention";
import { capTooSmall } from "./size-budget";
import { TelemetryStore, type StoreOptions, DEFAULT_STORE_OPTIONS } from "./telemetry-store";

/**
 * Owns the database connection over the life of the server: takes the
 * database's instance lock and opens it, keeps retrying while either cannot be
 * had (the server runs without it meanwhile), runs the pruning timer and
 * closes everything on shutdown. The lock is taken on the same path as the
 * file, so a recorder whose database appears late still never shares it.
 */

export class DatabaseUnavailableError extends Error {
  constructor(reason: string | null) {
    super(`the telemetry database is unavailable${reason ? `: ${reason}` : ""}`);
    this.name = "DatabaseUnavailableError";
  }
}

export interface StorageStatus {
  available: boolean;
  path: string;
  error: string | null;
  fileBytes: number | null;
  maxBytes: number;
  retentionMs: number;
  lastPrune: (PruneResult & { error: string | null }) | null;
  /** Samples moved aside because they could not be written as they were; null while the database is unavailable. */
  quarantinedRows: number | null;
}

/** A row of PruneRun: a reason stored by any version, as text. */
export type RecordedPrune = Omit<PruneResult, "reason"> & { reason: string; error: string | null };

export interface StorageManagerOptions {
  dbPath: string;
  policy: PrunePolicy;
  pruneIntervalMs: number;
  retryIntervalMs?: number;
  /** How often the database path is checked for a deleted or replaced file. */
  fileCheckIntervalMs?: number;
  storeOptions?: StoreOptions;
  log: Logger;
}

export class StorageManager {
  private current: TelemetryStore | null = null;
  private prismaClient: PrismaClient | null = null;
  private openError: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private lastPrune: StorageStatus["lastPrune"] = null;
  private closed = false;
  private movedCorruptFile = false;
  private fileTimer: NodeJS.Timeout | null = null;
  private lock: InstanceLock | null = null;
  private serverUrl: string | null = null;
  private readonly openListeners = new Set<(store: TelemetryStore) => void>();

  constructor(private readonly options: StorageManagerOptions) {}

  get store(): TelemetryStore | null {
    return this.current;
  }

  /** The store, or a DatabaseUnavailableError for callers that need it. */
  requireStore(): TelemetryStore {
    if (!this.current) throw new DatabaseUnavailableError(this.openError);
    return this.current;
  }

  /** The last prune recorded in the database, by this run or an earlier one; null when there was none. */
  lastRecordedPrune(): RecordedPrune | null {
    const row = this.requireStore()
      .db.prepare(
        `SELECT at, reason, deletedChunks, deletedSamples, bytesBefore, bytesAfter, durationMs, error
         FROM PruneRun ORDER BY id DESC LIMIT 1`,
      )
      .get() as RecordedPrune | undefined;
    return row ?? null;
  }

  /**
   * The Prisma client for ordinary queries, created on first use: the recorder
   * itself never needs it, and loading it costs about 40 MB. The API's reads
   * (GPUs, database stats) use the store instead, so a server answering them
   * does not carry Prisma's engine.
   */
  async prisma(): Promise<PrismaClient> {
    this.requireStore();
    if (!this.prismaClient) {
      const { createPrismaClient } = await import("./prisma-client");
      this.prismaClient ??= createPrismaClient(this.options.dbPath);
    }
    return this.prismaClient;
  }

  onOpen(listener: (store: TelemetryStore) => void) {
    this.openListeners.add(listener);
  }

  /**
   * Where the server listens: written into the lock for the CLI to find it
   * (src/cli/server-target.ts), now or once the lock is taken.
   */
  advertise(url: string) {
    this.serverUrl = url;
    this.writeLockUrl();
  }

  /**
   * Tries to take the lock and open the database; on failure schedules retries
   * and returns false. With `refuseIfLocked`, a lock held by another running
   * recorder throws its InstanceLockedError instead (a start that has to stop).
   */
  open(options: { refuseIfLocked?: boolean } = {}): boolean {
    if (this.current || this.closed) return this.current !== null;
    const { dbPath, log } = this.options;
    try {
      this.takeLock();
    } catch (error) {
      if (options.refuseIfLocked && error instanceof InstanceLockedError) throw error;
      this.failedToOpen(error instanceof Error ? error.message : String(error));
      return false;
    }
    // A file that is not a database is moved aside before SQLite opens it: on close,
    // SQLite would delete a write-ahead log lying beside it.
    if (!this.movedCorruptFile && hasForeignHeader(dbPath)) {
      this.movedCorruptFile = true;
      const movedTo = moveAside(dbPath);
      log.error({ dbPath, movedTo }, `the telemetry database is not an SQLite file: moved it to ${movedTo} and starting a fresh one`);
    }
    try {
      const { store, appliedMigrations, pageSizeChange } = TelemetryStore.open(dbPath, this.options.storeOptions ?? DEFAULT_STORE_OPTIONS);
      if (this.options.policy.walBytes !== undefined) limitWal(store.db, this.options.policy.walBytes);
      this.current = store;
      this.openError = null;
      this.watchFile(store);
      if (appliedMigrations.length > 0) log.info({ migrations: appliedMigrations }, "database schema migrated");
      if (pageSizeChange?.error === null)
        log.info(pageSizeChange, `rewrote the database in ${pageSizeChange.to}-byte pages (was ${pageSizeChange.from})`);
      else if (pageSizeChange)
        log.warn(pageSizeChange, `could not rewrite the database in larger pages; it keeps ${pageSizeChange.from}-byte pages`);
      for (const listener of this.openListeners) listener(store);
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (isCorruptDatabase(error) && !this.movedCorruptFile) {
        // Once per run: a fresh file that is corrupt again points at the disk, not the file.
        this.movedCorruptFile = true;
        const movedTo = moveAside(dbPath);
        log.error({ dbPath, movedTo, err: message }, `the telemetry database is corrupt: moved it to ${movedTo} and starting a fresh one`);
        return this.open();
      }
      this.failedToOpen(message);
      return false;
    }
  }

  /** Holds the lock from the first open that gets it until close, across reopens of the file. */
  private takeLock() {
    if (this.lock) return;
    const lock = acquireInstanceLock(this.options.dbPath);
    this.lock = lock;
    if (lock.replaced)
      this.options.log.warn(
        { lock: lock.path, previousPid: lock.replaced.pid },
        "took over the lock of an nvidia-oc that is no longer running",
      );
    this.writeLockUrl();
  }

  private writeLockUrl() {
    if (!this.lock || this.serverUrl === null) return;
    try {
      this.lock.setUrl(this.serverUrl);
    } catch (error) {
      // Only the CLI's guess of the address suffers; the lock itself is held.
      this.options.log.warn({ lock: this.lock.path, err: String(error) }, "could not write the server address into the lock file");
    }
  }

  private failedToOpen(message: string) {
    if (this.openError !== message) {
      this.options.log.error(
        { dbPath: this.options.dbPath, err: message },
        "cannot open the telemetry database; live data goes on, history is unavailable until it opens",
      );
    }
    this.openError = message;
    this.scheduleRetry();
  }

  /**
   * SQLite keeps writing into a deleted file's inode without a word, so the path is
   * checked: when the file is gone or replaced, the store is reopened there. The lock
   * file is checked too: when it was removed or another recorder took it, writing
   * stops until the lock is this process's again.
   */
  private watchFile(store: TelemetryStore) {
    const inode = fs.statSync(this.options.dbPath).ino;
    if (this.fileTimer) clearInterval(this.fileTimer);
    this.fileTimer = setInterval(() => {
      if (this.current !== store) return;
      const { dbPath, log } = this.options;
      if (this.lock && !this.lock.held()) {
        log.error(
          { dbPath, lock: this.lock.path },
          "the database's lock file was removed or taken by another process: writing stops until the lock is this server's again",
        );
        this.lock = null;
        this.dropStore(store);
        this.open();
        return;
      }
      let now: number | null = null;
      try {
        now = fs.statSync(dbPath).ino;
      } catch {
        // gone
      }
      if (now === inode) return;
      log.error({ dbPath }, "the telemetry database file was deleted or replaced: recreating it; samples written since then are lost");
      this.dropStore(store);
      this.open();
    }, this.options.fileCheckIntervalMs ?? 2000);
    this.fileTimer.unref();
  }

  private dropStore(store: TelemetryStore) {
    this.current = null;
    const prisma = this.prismaClient;
    this.prismaClient = null;
    void prisma?.$disconnect();
    try {
      store.close();
    } catch {
      // The old file is gone; nothing to keep.
    }
  }

  private scheduleRetry() {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.open()) this.options.log.info({ dbPath: this.options.dbPath }, "telemetry database opened");
    }, this.options.retryIntervalMs ?? 5000);
    this.retryTimer.unref();
  }

  startPruning() {
    if (this.pruneTimer) return;
    this.pruneTimer = setInterval(() => {
      if (this.current) this.prune();
    }, this.options.pruneIntervalMs);
    this.pruneTimer.unref();
  }

  /** Runs a prune now. Throws DatabaseUnavailableError when there is no database. */
  prune(force = false): PruneResult {
    const store = this.requireStore();
    const { log, policy } = this.options;
    try {
      const result = prune(store, policy, { force });
      this.lastPrune = { ...result, error: null };
      this.recordPrune(result, null);
      this.logPruneEvent(store, result);
      log.info(
        {
          reason: result.reason,
          deletedChunks: result.deletedChunks,
          deletedSamples: result.deletedSamples,
          bytesBefore: result.bytesBefore,
          bytesAfter: result.bytesAfter,
          capBytes: policy.maxBytes,
          durationMs: result.durationMs,
        },
        "prune finished",
      );
      if (result.bytesAfter > policy.maxBytes) this.warnOverCap(store, result.bytesAfter);
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const failed: PruneResult = {
        at: Date.now(),
        reason: force ? "forced" : "retention",
        deletedChunks: 0,
        deletedSamples: 0,
        deletedEvents: 0,
        bytesBefore: store.fileBytes(),
        bytesAfter: store.fileBytes(),
        durationMs: 0,
      };
      this.lastPrune = { ...failed, error: message };
      this.recordPrune(failed, message);
      log.error({ err: message }, "prune failed");
      throw error;
    }
  }

  /** What pruning cannot delete (unsealed rows, the newest chunk of each GPU) outgrew the cap: say how large it must be. */
  private warnOverCap(store: TelemetryStore, bytes: number) {
    const { policy, log } = this.options;
    const gpus = Math.max(1, store.gpus().length);
    const needs = { gpus, unsealedRowsPerGpu: policy.unsealedRowsPerGpu ?? 0, lowWater: policy.lowWater };
    const advice = capTooSmall(policy.maxBytes, needs, "(all the GPUs this database has seen)") ?? "raise NVOC_MAX_DB_MB";
    log.warn({ fileBytes: bytes, capBytes: policy.maxBytes, gpus }, `the database is still over its size cap after pruning: ${advice}`);
  }

  private recordPrune(result: PruneResult, error: string | null) {
    try {
      this.current?.db
        .prepare(
          `INSERT INTO PruneRun (at, reason, deletedChunks, deletedSamples, bytesBefore, bytesAfter, durationMs, error)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          result.at,
          result.reason,
          result.deletedChunks,
          result.deletedSamples,
          result.bytesBefore,
          result.bytesAfter,
          result.durationMs,
          error,
        );
    } catch (recordError) {
      this.options.log.warn({ err: String(recordError) }, "could not record the prune run");
    }
  }

  /** A prune that deleted something goes into the event log, so a gap in the history has its reason beside it. */
  private logPruneEvent(store: TelemetryStore, result: PruneResult) {
    const { reason, deletedChunks, deletedSamples, deletedEvents, bytesBefore, bytesAfter } = result;
    if (deletedChunks + deletedSamples + deletedEvents === 0) return;
    try {
      store.events.insert({
        gpuId: null,
        at: result.at,
        kind: "prune",
        detail: { reason, deletedChunks, deletedSamples, deletedEvents, bytesBefore, bytesAfter },
      });
    } catch (error) {
      this.options.log.warn({ err: String(error) }, "could not record the prune run in the event log");
    }
  }

  status(): StorageStatus {
    return {
      available: this.current !== null,
      path: this.options.dbPath,
      error: this.openError,
      fileBytes: this.current ? this.current.fileBytes() : null,
      maxBytes: this.options.policy.maxBytes,
      retentionMs: this.options.policy.retentionMs,
      lastPrune: this.lastPrune,
      quarantinedRows: this.current ? this.current.quarantinedRows() : null,
    };
  }

  async close() {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.fileTimer) clearInterval(this.fileTimer);
    this.retryTimer = this.pruneTimer = this.fileTimer = null;
    await this.prismaClient?.$disconnect();
    this.prismaClient = null;
    this.current?.close();
    this.current = null;
    this.lock?.release();
    this.lock = null;
  }
}

const SQLITE_HEADER = Buffer.from("SQLite format 3\0");

/** True for a non-empty file that does not start like an SQLite database. */
function hasForeignHeader(dbPath: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(dbPath, "r");
  } catch {
    return false; // missing or unreadable: opening reports that
  }
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const read = fs.readSync(fd, head, 0, head.length, 0);
    // An empty file is a database SQLite has yet to write; anything else must carry the header.
    return read > 0 && (read < SQLITE_HEADER.length || !head.equals(SQLITE_HEADER));
  } finally {
    fs.closeSync(fd);
  }
}

/** SQLite's own verdict on a file that is not (or no longer) a database. */
function isCorruptDatabase(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT";
}

/** Renames the database (and its WAL and shared-memory files) to `<file>.corrupt-<time>`; returns the new name. */
function moveAside(dbPath: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const target = `${dbPath}.corrupt-${stamp}`;
  fs.renameSync(dbPath, target);
  for (const suffix of ["-wal", "-shm"]) {
    if (fs.existsSync(dbPath + suffix)) fs.renameSync(dbPath + suffix, target + suffix);
  }
  return target;
}
