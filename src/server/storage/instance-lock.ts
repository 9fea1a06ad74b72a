import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * One recorder per database: a second one would interleave its own chunks and
 * prune the first one's data. A lock file beside the database names the
 * process holding it; a lock left by a process that is gone is taken over.
 */

export class InstanceLockedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InstanceLockedError";
  }
}

interface LockOwner {
  pid: number;
  hostname: string;
  startedAt: string;
  url: string | null;
}

export interface InstanceLock {
  path: string;
  /** Records where the holder listens, for the message a second instance prints. */
  setUrl(url: string): void;
  /** Whether the lock file still names this process (it may have been removed, or taken by another one). */
  held(): boolean;
  release(): void;
  /** Set when a lock left by a process that no longer runs was taken over. */
  replaced: LockOwner | null;
}

/** Whether a process of this machine still runs (EPERM: it does, as another user). */
export const processIsRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

function readOwner(lockPath: string): LockOwner | null {
  try {
    const owner = JSON.parse(fs.readFileSync(lockPath, "utf8")) as Partial<LockOwner>;
    return typeof owner.pid === "number" && typeof owner.hostname === "string" ? (owner as LockOwner) : null;
  } catch {
    return null;
  }
}

/**
 * Takes the lock of `dbPath`, or throws: InstanceLockedError naming the running
 * holder, or an Error saying why the lock file cannot be written (then the
 * database could not be opened either; the storage manager retries both).
 */
export function acquireInstanceLock(dbPath: string): InstanceLock {
  const lockPath = `${dbPath}.lock`;
  const me: LockOwner = { pid: process.pid, hostname: os.hostname(), startedAt: new Date().toISOString(), url: null };
  const cannotWrite = (error: unknown) =>
    new Error(`cannot write the lock file ${lockPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  try {
    fs.mkdirSync(path.dirname(lockPath), { recursive: true });
  } catch (error) {
    throw cannotWrite(error);
  }
  let replaced: LockOwner | null = null;
  try {
    fs.writeFileSync(lockPath, JSON.stringify(me), { flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw cannotWrite(error);
    const owner = readOwner(lockPath);
    // A holder on another host (a shared file system) cannot be checked: trust its lock.
    if (owner && owner.pid !== process.pid && (owner.hostname !== me.hostname || processIsRunning(owner.pid))) {
      throw new InstanceLockedError(
        `another nvidia-oc is already recording into ${dbPath}: locked by pid ${owner.pid} on ${owner.hostname}, started ${owner.startedAt}` +
          (owner.url ? `, serving ${owner.url}` : "") +
          `. Stop it, or give this one its own NVOC_DB_PATH.`,
      );
    }
    replaced = owner;
    try {
      fs.writeFileSync(lockPath, JSON.stringify(me));
    } catch (writeError) {
      throw cannotWrite(writeError);
    }
  }
  return {
    path: lockPath,
    replaced,
    setUrl(url) {
      me.url = url;
      fs.writeFileSync(lockPath, JSON.stringify(me));
    },
    held() {
      const owner = readOwner(lockPath);
      return owner?.pid === me.pid && owner.hostname === me.hostname;
    },
    release() {
      if (readOwner(lockPath)?.pid === process.pid) fs.rmSync(lockPath, { force: true });
    },
  };
}
