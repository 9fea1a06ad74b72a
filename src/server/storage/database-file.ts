import fs from "node:fs";
import Database from "better-sqlite3";
import { knownMigrationNames } from "./migrations";

/**
 * A database file looked at from outside the recorder (a backup to restore, a
 * recorder's database to merge), without writing to it, and copied whole.
 */

export interface DatabaseFileCheck {
  /** Migrations it holds that this version would still apply when opening it. */
  pendingMigrations: number;
  /** Bytes of live pages: about what a copy of it takes. */
  liveBytes: number;
}

/** Tables every nvidia-oc database has had since its first version. */
const REQUIRED_TABLES = ["Gpu", "SampleChunk", "RecentSample", "_prisma_migrations"];

/** Opens `file` read-only; a file that is not a database is refused here, naming it. */
export function openReadOnly(file: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    // The recorder may be writing: wait for its flush rather than fail on it.
    db.pragma("busy_timeout = 5000");
    db.pragma("schema_version");
  } catch (error) {
    throw new DatabaseFileError(`${file} cannot be opened as a database: ${error instanceof Error ? error.message : String(error)}`);
  }
  return db;
}

export class DatabaseFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseFileError";
  }
}

/**
 * Checks that `file` is an nvidia-oc database this version can open: intact
 * (SQLite's integrity_check), with the recorder's tables, and no migration a
 * newer version added. Throws DatabaseFileError saying what is wrong.
 */
export function checkDatabaseFile(file: string): DatabaseFileCheck {
  if (!fs.existsSync(file)) throw new DatabaseFileError(`${file} does not exist`);
  const db = openReadOnly(file);
  try {
    const problems = (db.pragma("integrity_check(10)") as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
    if (problems.length !== 1 || problems[0] !== "ok") throw new DatabaseFileError(`${file} is damaged: ${problems.join("; ")}`);
    const tables = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all() as string[]);
    const missing = REQUIRED_TABLES.filter((table) => !tables.has(table));
    if (missing.length > 0) throw new DatabaseFileError(`${file} is not an nvidia-oc database (no ${missing.join(", ")} table)`);
    const applied = db
      .prepare(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)
      .pluck()
      .all() as string[];
    const known = knownMigrationNames();
    const unknown = applied.filter((name) => !known.includes(name));
    if (unknown.length > 0) {
      throw new DatabaseFileError(
        `${file} was written by a newer nvidia-oc (schema migration ${unknown.join(", ")} is unknown to this one): upgrade nvidia-oc first`,
      );
    }
    return { pendingMigrations: known.filter((name) => !applied.includes(name)).length, liveBytes: liveBytesOf(db) };
  } finally {
    db.close();
  }
}

/** Bytes of the live pages of `db`: about what a copy of it takes. */
export function liveBytesOf(db: Database.Database): number {
  const pageSize = db.pragma("page_size", { simple: true }) as number;
  return ((db.pragma("page_count", { simple: true }) as number) - (db.pragma("freelist_count", { simple: true }) as number)) * pageSize;
}

/**
 * Copies the database at `source` into a new file `target`, as one read
 * transaction: a snapshot of the last commit before it began, however the
 * recorder writes meanwhile (WAL readers never block its writer, nor does it
 * block them). VACUUM INTO never restarts, where the page-stepped backup API
 * starts over at each write of another connection: with a flush every 100 ms a
 * large database would never finish. The copy has no free pages and no
 * write-ahead log: a plain file that opens as a normal database.
 */
export function snapshotDatabase(source: string, target: string) {
  const db = openReadOnly(source);
  try {
    db.prepare(`VACUUM INTO ?`).run(target);
  } finally {
    db.close();
  }
}

/** A database's own file, and the write-ahead log and its index SQLite keeps beside it. */
export const DATABASE_FILE_SUFFIXES = ["", "-wal", "-shm"] as const;

export function removeDatabaseFiles(file: string) {
  for (const suffix of DATABASE_FILE_SUFFIXES) fs.rmSync(`${file}${suffix}`, { force: true });
}
