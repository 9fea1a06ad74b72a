import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

/**
 * What a telemetry database file holds after its writer has exited or been
 * killed: SQLite's own integrity verdict and how many samples are stored.
 */

export interface DatabaseCheck {
  /** `ok`, or the problems PRAGMA integrity_check lists. */
  integrity: string;
  /** Samples stored: those sealed into chunks plus the recent rows not yet sealed. */
  samples: number;
}

const STORED_SAMPLES = `SELECT (SELECT coalesce(sum(rowCount), 0) FROM SampleChunk) + (SELECT count(*) FROM RecentSample)`;

/**
 * Checks a copy of the database and its write-ahead log, so the file itself is
 * left exactly as the killed writer left it: recovering it is the next writer's job.
 */
export function checkDatabaseCopy(dbPath: string): DatabaseCheck {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-check-"));
  try {
    const copy = path.join(scratch, path.basename(dbPath));
    fs.copyFileSync(dbPath, copy);
    if (fs.existsSync(`${dbPath}-wal`)) fs.copyFileSync(`${dbPath}-wal`, `${copy}-wal`);
    return checkDatabase(copy);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Checks the database in place (its writer must have exited). */
export function checkDatabase(dbPath: string): DatabaseCheck {
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    const problems = db.pragma("integrity_check", { simple: false }) as Array<{ integrity_check: string }>;
    const samples = db.prepare(STORED_SAMPLES).pluck().get() as number;
    return { integrity: problems.map((p) => p.integrity_check).join("; "), samples };
  } finally {
    db.close();
  }
}
