import fs from "node:fs";
import os from "node:os";
import { acquireInstanceLock, InstanceLockedError, processIsRunning, type InstanceLock } from "../server/storage/instance-lock";
import { CommandFailure } from "./command";

/**
 * Reads the `<database>.lock` file a running server keeps beside its database
 * (src/server/storage/instance-lock.ts): who holds it and where it listens.
 */

export interface LockHolder {
  lockPath: string;
  pid: number;
  hostname: string;
  startedAt: string | null;
  url: string | null;
  /** False when the holder ran on this machine and is gone: the lock is stale. */
  running: boolean;
}

export function readLockHolder(dbPath: string): LockHolder | null {
  const lockPath = `${dbPath}.lock`;
  let owner: { pid?: unknown; hostname?: unknown; startedAt?: unknown; url?: unknown };
  try {
    owner = JSON.parse(fs.readFileSync(lockPath, "utf8")) as typeof owner;
  } catch {
    return null;
  }
  if (typeof owner.pid !== "number" || typeof owner.hostname !== "string") return null;
  return {
    lockPath,
    pid: owner.pid,
    hostname: owner.hostname,
    startedAt: typeof owner.startedAt === "string" ? owner.startedAt : null,
    url: typeof owner.url === "string" ? owner.url : null,
    // A holder on another machine (a shared file system) cannot be checked from here.
    running: owner.hostname !== os.hostname() || processIsRunning(owner.pid),
  };
}

/** "pid 4242 on gpu-box, serving http://127.0.0.1:8000, started 2026-11-26T07:00:00.000Z" */
export function describeHolder(holder: LockHolder): string {
  return [
    `pid ${holder.pid} on ${holder.hostname}`,
    holder.url ? `serving ${holder.url}` : null,
    holder.startedAt ? `started ${holder.startedAt}` : null,
  ]
    .filter((part) => part !== null)
    .join(", ");
}

/**
 * The database's lock, held by a command that writes the database (import,
 * restore) so no server starts recording into it meanwhile; refused, naming
 * the server, while one records into it.
 */
export function lockForWriting(dbPath: string, command: string): InstanceLock {
  try {
    return acquireInstanceLock(dbPath);
  } catch (error) {
    if (!(error instanceof InstanceLockedError))
      throw new CommandFailure(`cannot open the database ${dbPath}: ${error instanceof Error ? error.message : String(error)}`);
    const holder = readLockHolder(dbPath);
    throw new CommandFailure(
      `a server is recording into ${dbPath}${holder ? ` (${describeHolder(holder)})` : ""}; ` +
        `two writers must not share the file: stop it, ${command}, then start it again`,
    );
  }
}
