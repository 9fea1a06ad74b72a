import type { Logger } from "../logger";
import type { PrismaClient } from "./prisma-client";
import { prune, type PrunePolicy, type PruneResult } from "./retention";
import { TelemetryStore, type StoreOptions, DEFAULT_STORE_OPTIONS } from "./telemetry-store";

/**
 * Owns the database connection over the life of the server: opens it, keeps
 * retrying while it cannot be opened (the server runs without it meanwhile),
 * runs the pruning timer and closes everything on shutdown.
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
}

export interface StorageManagerOptions {
  dbPath: string;
  policy: PrunePolicy;
  pruneIntervalMs: number;
  retryIntervalMs?: number;
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

  /**
   * The Prisma client for ordinary queries, created on first use: the recorder
   * itself never needs it, and loading it costs about 40 MB.
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

  /** Tries to open the database; on failure schedules retries and returns false. */
  open(): boolean {
    if (this.current || this.closed) return this.current !== null;
    const { dbPath, log } = this.options;
    try {
      const { store, appliedMigrations } = TelemetryStore.open(dbPath, this.options.storeOptions ?? DEFAULT_STORE_OPTIONS);
      this.current = store;
      this.openError = null;
      if (appliedMigrations.length > 0) log.info({ migrations: appliedMigrations }, "database schema migrated");
      for (const listener of this.openListeners) listener(store);
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.openError !== message) log.error({ dbPath, err: message }, "cannot open the telemetry database; live data goes on, history is unavailable until it opens");
      this.openError = message;
      this.scheduleRetry();
      return false;
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
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const failed: PruneResult = {
        at: Date.now(),
        reason: force ? "forced" : "retention",
        deletedChunks: 0,
        deletedSamples: 0,
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

  private recordPrune(result: PruneResult, error: string | null) {
    try {
      this.current?.db
        .prepare(
          `INSERT INTO PruneRun (at, reason, deletedChunks, deletedSamples, bytesBefore, bytesAfter, durationMs, error)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(result.at, result.reason, result.deletedChunks, result.deletedSamples, result.bytesBefore, result.bytesAfter, result.durationMs, error);
    } catch (recordError) {
      this.options.log.warn({ err: String(recordError) }, "could not record the prune run");
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
    };
  }

  async close() {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.retryTimer = this.pruneTimer = null;
    await this.prismaClient?.$disconnect();
    this.prismaClient = null;
    this.current?.close();
    this.current = null;
  }
}
