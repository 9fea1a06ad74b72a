import fs from "node:fs";
import os from "node:os";
import { liveBytesOf, openReadOnly } from "../../server/storage/database-file";
import { formatBytes } from "../../telemetry/format-bytes";
import { CommandFailure, defineCommand, UsageError } from "../command";
import { checkedDatabaseFile, copyDatabase } from "../database-copy/copy-database";
import { describeHolder, readLockHolder } from "../server-lock";
import { configFromFlags, settingOptions } from "../settings-flags";

/**
 * Why the command copies the file itself, not through the server: SQLite in WAL
 * mode gives every reader a snapshot of the last commit, across processes, and
 * neither a reader nor the writer waits for the other. So a read transaction
 * opened here (VACUUM INTO, database-file.ts) copies exactly what was stored
 * when it began, while the server goes on flushing: no endpoint that writes a
 * file where a request says, no token to hand around, and nothing to pause.
 * WAL needs the shared memory of one machine: a server on another host sharing
 * the file is refused.
 */
export const backupCommand = defineCommand({
  name: "backup",
  summary: "copy the database to a file, safely while the server records",
  synopsis: "<file> [--db-path FILE]",
  description: `
Writes a consistent copy of the database to <file>: everything stored when the
copy began, while the server goes on recording (it is never paused). The copy
is checked (SQLite's integrity_check) and is a plain database: nvidia-oc
restore puts it back, nvidia-oc import merges it into another database, and
--db-path opens it as it is. Progress goes to stderr. <file> must not exist.`,
  positionals: [{ name: "<file>", help: "the copy to write" }],
  options: { ...settingOptions(["NVOC_DB_PATH"]) },
  async run({ values, positionals }) {
    if (positionals.length === 0) throw new UsageError("<file>: missing: name the file to write the copy to");
    if (positionals.length > 1) throw new UsageError(`${positionals[1]}: unexpected argument (backup takes one file)`);
    const file = positionals[0];
    const { dbPath } = configFromFlags(values, ["NVOC_DB_PATH"]);
    if (!fs.existsSync(dbPath)) throw new CommandFailure(`there is no database at ${dbPath} (--db-path names another)`);
    const holder = readLockHolder(dbPath);
    if (holder?.running && holder.hostname !== os.hostname()) {
      throw new CommandFailure(
        `a server on ${holder.hostname} records into ${dbPath} (${describeHolder(holder)}): run nvidia-oc backup there`,
      );
    }
    const source = openReadOnly(dbPath);
    const liveBytes = liveBytesOf(source);
    source.close();
    const bytes = await copyDatabase(dbPath, file, liveBytes);
    try {
      checkedDatabaseFile(file);
    } catch (error) {
      // Kept for a look: a copy that fails the check is not deleted, only named.
      throw new CommandFailure(`the copy ${file} fails its check: ${error instanceof Error ? error.message : String(error)}`);
    }
    process.stdout.write(`backed up ${dbPath} to ${file} (${formatBytes(bytes)}, integrity checked)\n`);
  },
});
