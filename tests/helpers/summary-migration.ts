import { readFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { REPO_ROOT } from "./fixtures";

const MIGRATION = path.join(REPO_ROOT, "prisma", "migrations", "20261202173500_summary_format_version", "migration.sql");

/**
 * A summary as a database written before summaries carried a version byte holds it
 * after the migration that added one: the migration's own SQL run on tables of the
 * same names.
 */
export function migratedSummary(stored: Buffer): Buffer {
  const db = new Database(":memory:");
  try {
    for (const table of ["SampleChunk", "HourlyRollup", "DailyRollup"]) db.exec(`CREATE TABLE "${table}" ("summary" BLOB NOT NULL)`);
    db.prepare(`INSERT INTO "SampleChunk" ("summary") VALUES (?)`).run(stored);
    db.exec(readFileSync(MIGRATION, "utf8"));
    return db.prepare(`SELECT "summary" FROM "SampleChunk"`).pluck().get() as Buffer;
  } finally {
    db.close();
  }
}
