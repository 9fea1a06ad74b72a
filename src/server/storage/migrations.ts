import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type Database from "better-sqlite3";
import { PROJECT_ROOT } from "../project-root";

/**
 * Applies the committed Prisma migrations (prisma/migrations/<name>/migration.sql)
 * at startup, recording them in Prisma's own `_prisma_migrations` table so that
 * `prisma migrate status` and `migrate deploy` agree with what the server did.
 * Done in-process because the server must not depend on the Prisma CLI at run time.
 */

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, "prisma", "migrations");

interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

function readMigrations(dir: string): Migration[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const sql = fs.readFileSync(path.join(dir, name, "migration.sql"), "utf8");
      return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}

/** The migrations this version knows, oldest first: a database holding any other was made by a newer one. */
export const knownMigrationNames = (dir = MIGRATIONS_DIR) => readMigrations(dir).map((migration) => migration.name);

/** Returns the names of the migrations it applied (empty when up to date). */
export function applyMigrations(db: Database.Database, dir = MIGRATIONS_DIR): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id" TEXT PRIMARY KEY NOT NULL,
    "checksum" TEXT NOT NULL,
    "finished_at" DATETIME,
    "migration_name" TEXT NOT NULL,
    "logs" TEXT,
    "rolled_back_at" DATETIME,
    "started_at" DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count" INTEGER UNSIGNED NOT NULL DEFAULT 0
  )`);
  const applied = new Set(
    db
      .prepare(`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`)
      .pluck()
      .all() as string[],
  );
  const record = db.prepare(
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
     VALUES (?, ?, ?, ?, ?, 1)`,
  );
  const done: string[] = [];
  for (const migration of readMigrations(dir)) {
    if (applied.has(migration.name)) continue;
    const startedAt = Date.now();
    db.transaction(() => {
      db.exec(migration.sql);
      record.run(randomUUID(), migration.checksum, Date.now(), migration.name, startedAt);
    })();
    done.push(migration.name);
  }
  return done;
}
