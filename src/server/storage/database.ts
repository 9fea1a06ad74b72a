import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { applyMigrations } from "./migrations";

export type SqliteDatabase = Database.Database;

const DEFAULT_WAL_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * A sealed chunk with its period summaries is about 2.3-2.8 KB, and a page holds whole rows: an 8 KiB
 * page holds two and leaves a third of itself empty (1.9 bytes a snapshot, measured on 90 days),
 * a 32 KiB page holds eleven and leaves about a twentieth. The price is the one-second flush
 * writing 32 KiB pages to the write-ahead log: about 68 KiB/s for 8 GPUs, against 19 KiB/s.
 */
export const PAGE_SIZE = 32_768;

/** What opening did to an existing database's page size: rewrote it, or tried to and failed. */
export type PageSizeChange = { from: number; to: number; error: string | null } | null;

/**
 * SQLite's own page cache. better-sqlite3 builds SQLite with 16 MB, which an
 * export or a long chart fills with pages read once and then holds for good.
 * The pages read again and again (the newest chunks, the indexes, the rollups)
 * fit in far less, and a page missed here comes from the OS's file cache.
 */
export const PAGE_CACHE_BYTES = 4 * 1024 * 1024;

/**
 * Opens (creating folder and file when missing) the telemetry database in WAL
 * mode and brings its schema up to date.
 */
export function openDatabase(dbPath: string): { db: SqliteDatabase; appliedMigrations: string[]; pageSizeChange: PageSizeChange } {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  try {
    // Both take effect only on a new file (before its first table) and are ignored
    // otherwise, so they come before anything reads it. Incremental auto-vacuum lets
    // pruning hand freed pages back without a full VACUUM.
    db.pragma(`page_size = ${PAGE_SIZE}`);
    db.pragma("auto_vacuum = INCREMENTAL");
    const pageSizeChange = repage(db);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    // Negative: a size in KiB, however large the pages.
    db.pragma(`cache_size = ${-PAGE_CACHE_BYTES / 1024}`);
    // No memory-mapped reads: mapped pages of a file of hundreds of megabytes would count as this process's memory.
    db.pragma("mmap_size = 0");
    limitWal(db, DEFAULT_WAL_LIMIT_BYTES);
    const appliedMigrations = applyMigrations(db);
    return { db, appliedMigrations, pageSizeChange };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Rewrites a database made with smaller pages in PAGE_SIZE pages, once: VACUUM copies every
 * page, which WAL mode forbids, so the log is folded in first. Without room for the copy it
 * fails and the database stays as it was, still usable.
 */
function repage(db: SqliteDatabase): PageSizeChange {
  const from = db.pragma("page_size", { simple: true }) as number;
  if (from === PAGE_SIZE || (db.pragma("page_count", { simple: true }) as number) === 0) return null;
  try {
    db.pragma("journal_mode = DELETE");
    db.pragma(`page_size = ${PAGE_SIZE}`);
    db.exec("VACUUM");
    return { from, to: db.pragma("page_size", { simple: true }) as number, error: null };
  } catch (error) {
    return { from, to: from, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Keeps the write-ahead log near `bytes`: checkpointed once it holds that much,
 * and cut back to that size after a checkpoint instead of lingering at its
 * largest. A single transaction larger than that still grows it until then.
 */
export function limitWal(db: SqliteDatabase, bytes: number) {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  // Each frame of the log is a page and its 24-byte header.
  db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.floor(bytes / (pageSize + 24)))}`);
  db.pragma(`journal_size_limit = ${bytes}`);
}

/** Bytes the database occupies on disk: the main file plus its write-ahead log. */
export function databaseFileBytes(dbPath: string): number {
  let total = 0;
  for (const file of [dbPath, `${dbPath}-wal`]) {
    try {
      total += fs.statSync(file).size;
    } catch {
      // A missing WAL simply means nothing is pending.
    }
  }
  return total;
}
