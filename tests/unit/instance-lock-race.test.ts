import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const racers: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const racer of racers.splice(0)) racer.stdin.end();
});

/** A process of tests/helpers/lock-racer.ts, with its JSON lines in order. */
function racer(...args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/helpers/lock-racer.ts", ...args], { cwd: REPO_ROOT });
  racers.push(child);
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    pid: child.pid,
    next: async (): Promise<Record<string, unknown>> => {
      const line: IteratorResult<string> = await lines.next();
      if (line.done) throw new Error(`the racer exited: ${stderr}`);
      return JSON.parse(line.value) as Record<string, unknown>;
    },
  };
}

const ownerPid = (dbPath: string) => (JSON.parse(fs.readFileSync(`${dbPath}.lock`, "utf8")) as { pid: number }).pid;

describe("the database's lock between processes", () => {
  it("goes to exactly one of several processes taking it at the same moment, free or left by a process that is gone", async () => {
    for (const [round, left] of ["free", "free", "stale", "stale"].entries()) {
      const dbPath = path.join(dir, `race-${round}`, "telemetry.db");
      if (left === "stale") {
        fs.mkdirSync(path.dirname(dbPath));
        const gone = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
        fs.writeFileSync(
          `${dbPath}.lock`,
          JSON.stringify({ pid: gone, hostname: os.hostname(), startedAt: new Date().toISOString(), url: null }),
        );
      }
      // Past every racer's start-up: they wait for the moment, then all take the lock at once.
      const startAt = Date.now() + 3000;
      const all = Array.from({ length: 4 }, () => racer("race", dbPath, String(startAt)));
      const results = await Promise.all(all.map((r) => r.next()));
      const winners = all.filter((_, i) => results[i].won === true);
      expect(winners.map((w) => w.pid)).toEqual([ownerPid(dbPath)]);
      for (const child of racers.splice(0)) child.stdin.end();
    }
  });

  it("is never taken from its holder while the holder rewrites its address into it", async () => {
    const dbPath = path.join(dir, "rewritten", "telemetry.db");
    const holder = racer("rewrite", dbPath, "4000");
    expect(await holder.next()).toEqual({ held: true });
    const challenger = racer("challenge", dbPath, "2000");
    const { attempts, won } = await challenger.next();
    expect(attempts).toBeGreaterThan(100);
    expect(won).toBe(0);
    expect(await holder.next()).toEqual({ rewrote: true });
    expect(ownerPid(dbPath)).toBe(holder.pid);
  });
});
