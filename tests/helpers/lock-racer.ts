/**
 * A process taking a database's lock, for tests/unit/instance-lock-race.test.ts. Prints one JSON
 * line of what it got, then holds what it took until its stdin closes.
 *   race <dbPath> <epoch ms>: one attempt, made at that moment (a start line for several racers).
 *   rewrite <dbPath> <ms>: takes the lock, prints, then rewrites its address for that long.
 *   challenge <dbPath> <ms>: attempts to take the lock for that long, counting the attempts that got it.
 */
import { acquireInstanceLock, InstanceLockedError, type InstanceLock } from "../../src/server/storage/instance-lock";

const [mode, dbPath, value] = process.argv.slice(2);
const number = Number(value);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
const held: InstanceLock[] = [];

function attempt(): boolean {
  try {
    held.push(acquireInstanceLock(dbPath));
    return true;
  } catch (error) {
    if (error instanceof InstanceLockedError) return false;
    throw error;
  }
}

if (mode === "race") {
  // A spin, not a timer: the racers leave the line within microseconds of each other.
  while (Date.now() < number);
  say({ won: attempt() });
} else if (mode === "rewrite") {
  if (!attempt()) throw new Error("the lock was not free");
  say({ held: true });
  const until = Date.now() + number;
  for (let n = 0; Date.now() < until; n++) held[0].setUrl(`http://127.0.0.1:${1024 + (n % 60000)}`);
  say({ rewrote: true });
} else if (mode === "challenge") {
  let attempts = 0;
  let won = 0;
  for (const until = Date.now() + number; Date.now() < until; attempts++) if (attempt()) won++;
  say({ attempts, won });
} else throw new Error(`unknown mode ${mode}`);

process.stdin.resume();
process.stdin.on("end", () => {
  for (const lock of held) lock.release();
  process.exit(0);
});
