import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { applyMigrations } from "./migrations";

export type SqliteDatabase = Database.Database;

/**
 * Opens (creating folder and file when missing) the telemetry database in WAL
 * mode and brings its schema up to date.
 */
export function openDatabase(dbPath: string): { db: SqliteDatabase; appliedMigrations: string[] } {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  try {
    const fresh = (db.prepare("SELECT count(*) FROM sqlite_master").pluck().get() as number) === 0;
    // Incremental auto-vacuum lets pruning hand freed pages back to the file
    // system without a full VACUUM; it can only be chosen before the first table.
    if (fresh) db.pragma("auto_vacuum = INCREMENTAL");
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("foreign_keys = ON");
    db.pragma("busy_timeout = 5000");
    // Keep the WAL file from lingering at its high-water size after checkpoints.
    db.pragma(`journal_size_limit = ${8 * 1024 * 1024}`);
    const appliedMigrations = applyMigrations(db);
    return { db, appliedMigrations };
  } catch (error) {
    db.close();
    throw error;
  }
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
