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

function parseOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    return typeof owner.pid === "number" && typeof owner.hostname === "string" ? (owner as LockOwner) : null;
  } catch {
    return null;
  }
}

/** The lock file's text and the owner it names (null: absent, empty or not a lock). */
function readLock(lockPath: string): { text: string; owner: LockOwner | null } {
  try {
    const text = fs.readFileSync(lockPath, "utf8");
    return { text, owner: parseOwner(text) };
  } catch {
    return { text: "", owner: null };
  }
}

const readOwner = (lockPath: string) => readLock(lockPath).owner;

/**
 * How long a lock file that names no owner counts as one being written: a
 * process creates the file, then writes into it, and another one reading in
 * between finds it empty. Older than this, it was left half-written and is stale.
 */
const WRITING_GRACE_MS = 5000;

function writtenWithin(lockPath: string, ms: number): boolean {
  try {
    return Date.now() - fs.statSync(lockPath).mtimeMs < ms;
  } catch {
    return false;
  }
}

/** Replaces the lock file's content in one step (write beside it, rename over it): a reader sees the old owner or the new one. */
function replaceLock(lockPath: string, owner: LockOwner) {
  const beside = `${lockPath}.${process.pid}.tmp`;
  fs.writeFileSync(beside, JSON.stringify(owner));
  fs.renameSync(beside, lockPath);
}

const lockedBy = (dbPath: string, owner: LockOwner) =>
  new InstanceLockedError(
    `another nvidia-oc is already recording into ${dbPath}: locked by pid ${owner.pid} on ${owner.hostname}, started ${owner.startedAt}` +
      (owner.url ? `, serving ${owner.url}` : "") +
      `. Stop it, or give this one its own NVOC_DB_PATH.`,
  );

/**
 * Takes the lock of `dbPath`, or throws: InstanceLockedError naming the running
 * holder, or an Error saying why the lock file cannot be written (then the
 * database could not be opened either; the storage manager retries both).
 * Of several processes taking it at once, exactly one gets it: the file is
 * created exclusively, and a stale one is moved away, which only one of them can do.
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
  const isMine = (owner: LockOwner | null) => owner?.pid === me.pid && owner.hostname === me.hostname;
  let replaced: LockOwner | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      fs.writeFileSync(lockPath, JSON.stringify(me), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 3) throw cannotWrite(error);
    }
    const found = readLock(lockPath);
    const { owner } = found;
    // A holder on another host (a shared file system) cannot be checked: trust its lock.
    if (owner && owner.pid !== process.pid && (owner.hostname !== me.hostname || processIsRunning(owner.pid)))
      throw lockedBy(dbPath, owner);
    if (!owner && writtenWithin(lockPath, WRITING_GRACE_MS))
      throw new InstanceLockedError(`another nvidia-oc is taking the lock of ${dbPath} (${lockPath} is being written)`);
    // Stale: moved aside, then created again above. Of processes doing this at once, one moves it and the others find it gone.
    const aside = `${lockPath}.${process.pid}.stale`;
    try {
      fs.renameSync(lockPath, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw cannotWrite(error);
    }
    const moved = fs.readFileSync(aside, "utf8");
    fs.rmSync(aside, { force: true });
    if (moved !== found.text) {
      // Another process took the stale lock between the read and the move: it holds the lock, and its file goes
      // back, created exclusively as every lock is, unless a third process has taken the place meanwhile.
      const taker = parseOwner(moved);
      try {
        fs.writeFileSync(lockPath, moved, { flag: "wx" });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw cannotWrite(error);
      }
      throw taker ? lockedBy(dbPath, taker) : new InstanceLockedError(`another nvidia-oc took the lock of ${dbPath} at the same moment`);
    }
    replaced = owner;
  }
  return {
    path: lockPath,
    replaced,
    setUrl(url) {
      me.url = url;
      // Not over a lock another process has taken meanwhile: the storage manager's check finds it lost.
      if (isMine(readOwner(lockPath))) replaceLock(lockPath, me);
    },
    held: () => isMine(readOwner(lockPath)),
    release() {
      if (readOwner(lockPath)?.pid === process.pid) fs.rmSync(lockPath, { force: true });
    },
  };
}
