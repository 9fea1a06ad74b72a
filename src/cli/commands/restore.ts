import fs from "node:fs";
import Database from "better-sqlite3";
import { openDatabase } from "../../server/storage/database";
import { DATABASE_FILE_SUFFIXES, removeDatabaseFiles } from "../../server/storage/database-file";
import { CommandFailure, defineCommand, UsageError } from "../command";
import { checkedDatabaseFile, copyDatabase } from "../database-copy/copy-database";
import { lockForWriting } from "../server-lock";
import { configFromFlags, settingOptions } from "../settings-flags";
import { formatBytes } from "../../telemetry/format-bytes";

export const restoreCommand = defineCommand({
  name: "restore",
  summary: "replace the database with a backup, keeping the one it replaces",
  synopsis: "<file> [--db-path FILE]",
  description: `
Puts a backup (nvidia-oc backup) in place of the database. The backup is
checked first (SQLite's integrity_check, a schema this version can bring up to
date) and copied, and only then is the database replaced: the one it replaces
is kept beside it as <database>.before-restore-<time>, never deleted. Refused
while a server records into the database: stop it, restore, start it again.
To add a backup's history to the database instead, use nvidia-oc import.`,
  positionals: [{ name: "<file>", help: "the backup to restore" }],
  options: { ...settingOptions(["NVOC_DB_PATH"]) },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError("<file>: missing: name the backup to restore");
    if (positionals.length > 1) throw new UsageError(`${positionals[1]}: unexpected argument (restore takes one file)`);
    const file = positionals[0];
    const { dbPath } = configFromFlags(values, ["NVOC_DB_PATH"]);
    const check = checkedDatabaseFile(file);
    const lock = lockForWriting(dbPath, "restore");
    try {
      const incoming = `${dbPath}.restoring-${process.pid}`;
      const bytes = await copyDatabase(file, incoming, check.liveBytes);
      try {
        // Brought up to this version's schema before it replaces anything: a migration that fails leaves the database as it was.
        openDatabase(incoming).db.close();
      } catch (error) {
        removeDatabaseFiles(incoming);
        throw new CommandFailure(`cannot bring ${file} up to date: ${error instanceof Error ? error.message : String(error)}`);
      }
      const kept = fs.existsSync(dbPath) ? keepReplaced(dbPath) : null;
      fs.renameSync(incoming, dbPath);
      process.stdout.write(
        `restored ${file} (${formatBytes(bytes)}) into ${dbPath}\n` + (kept ? `  the database it replaced is kept as ${kept}\n` : ""),
      );
    } finally {
      lock.release();
    }
  },
});

/**
 * Moves the database aside as <database>.before-restore-<time>, as it is: its
 * write-ahead log folded in when it can be, else moved along under the kept
 * name, so a damaged database (the reason to restore, often) is kept whole too.
 */
function keepReplaced(dbPath: string): string {
  const kept = `${dbPath}.before-restore-${new Date().toISOString().replaceAll(":", "-")}`;
  try {
    const db = new Database(dbPath, { fileMustExist: true });
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.close();
  } catch {
    // Unreadable: its files move as they are.
  }
  for (const suffix of DATABASE_FILE_SUFFIXES)
    if (fs.existsSync(`${dbPath}${suffix}`)) fs.renameSync(`${dbPath}${suffix}`, `${kept}${suffix}`);
  return kept;
}
