import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { InstanceLock } from "../src/server/storage/instance-lock";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
/** Who the lock file next to the database names. */
const lockOwner = (dbPath: string) => JSON.parse(fs.readFileSync(`${dbPath}.lock`, "utf8")) as NonNullable<InstanceLock["replaced"]>;
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe("one recorder per database", () => {
  it("refuses a second instance on the same database, naming the first, and frees the lock on exit", async () => {
    const dbPath = path.join(dir, "shared", "telemetry.db");
    const first = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath });
    servers.push(first);
    const owner = lockOwner(dbPath);
    expect(owner).toMatchObject({ pid: first.child.pid, url: first.url });

    const second = startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath }, 20_000);
    await expect(second).rejects.toThrow(
      new RegExp(`another nvidia-oc is already recording into .*pid ${first.child.pid} .*serving ${first.url.replace(/[.:/]/g, "\\$&")}`),
    );

    expect((await first.stop()).code).toBe(0);
    expect(fs.existsSync(`${dbPath}.lock`)).toBe(false);
  });

  it("takes over a lock left by a process that is gone", async () => {
    const dbPath = path.join(dir, "stale", "telemetry.db");
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    // The pid of a process that has exited.
    const gone = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
    fs.writeFileSync(
      `${dbPath}.lock`,
      JSON.stringify({ pid: gone, hostname: os.hostname(), startedAt: "2026-01-01T00:00:00.000Z", url: null }),
    );
    const server = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath });
    servers.push(server);
    expect(server.logs.some((l) => l.msg.startsWith("took over the lock") && l.previousPid === gone)).toBe(true);
    expect(lockOwner(dbPath).pid).toBe(server.child.pid);
  });

  it("takes the lock when the database folder appears after start: one recorder writes, the other reports who holds it", async () => {
    // A file where the folder should be: neither server can create the folder until it goes.
    const folder = path.join(dir, "late");
    fs.writeFileSync(folder, "not a folder yet");
    const dbPath = path.join(folder, "telemetry.db");
    const env = { NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: dbPath };
    const both = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    servers.push(...both);
    const statusOf = (server: ServerProcess) => trpcClient(server.url).health.status.query();
    for (const server of both) expect((await statusOf(server)).database.available).toBe(false);

    fs.rmSync(folder);
    fs.mkdirSync(folder);
    const [winner, loser] = await waitFor(
      async () => {
        const [a, b] = await Promise.all(both.map(statusOf));
        if (a.database.available && b.database.error?.includes("locked by pid")) return both;
        if (b.database.available && a.database.error?.includes("locked by pid")) return [both[1], both[0]];
        return undefined;
      },
      30_000,
      "one server to open the database and the other to find it locked",
    );
    const refused = (await statusOf(loser)).database;
    expect(refused.available).toBe(false);
    expect(refused.error).toContain(`locked by pid ${winner.child.pid}`);
    expect(refused.error).toContain(`serving ${winner.url}`);
    // The CLI finds the server by the lock, taken late as it was.
    expect(lockOwner(dbPath)).toMatchObject({ pid: winner.child.pid, url: winner.url });
    await waitFor(async () => ((await statusOf(winner)).collector.stored > 50 ? true : undefined), 20_000, "the winner to store samples");

    const stoppedLine = (server: ServerProcess) => server.waitForLog((l) => l.msg === "stopped");
    await loser.stop();
    expect((await stoppedLine(loser)).stored).toBe(0);
    await winner.stop();
    const storedByWinner = (await stoppedLine(winner)).stored as number;
    const { store } = TelemetryStore.open(dbPath);
    const inFile = [...store.sampleTotals().values()].map((t) => t.records).reduce((a, b) => a + b, 0);
    store.close();
    expect(inFile).toBe(storedByWinner);
  });

  it("stops writing when another recorder takes its lock, and reports who holds it", async () => {
    const dbPath = path.join(dir, "taken", "telemetry.db");
    const env = { NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: dbPath };
    const first = await startServerProcess(env);
    servers.push(first);
    // The lock file goes (a cleanup job, a hand): a second recorder then starts on the same file.
    // The first checks its lock every 2 s and takes a vanished one back, so a second that starts
    // only after such a check is refused; the lock is removed again until a second wins it.
    const second = await waitFor(
      async () => {
        fs.rmSync(`${dbPath}.lock`, { force: true });
        try {
          return await startServerProcess(env);
        } catch (error) {
          if (String(error).includes("already recording")) return undefined;
          throw error;
        }
      },
      90_000,
      "a second recorder to take the removed lock",
    );
    servers.push(second);
    expect(lockOwner(dbPath).pid).toBe(second.child.pid);

    const status = await waitFor(
      async () => {
        const { database, collector } = await trpcClient(first.url).health.status.query();
        return database.available ? undefined : { database, collector };
      },
      20_000,
      "the first server to stop writing",
    );
    expect(status.database.error).toContain(`locked by pid ${second.child.pid}`);
    const storedWhenStopped = status.collector.stored;
    await waitFor(
      async () => ((await trpcClient(second.url).collector.status.query()).stored > 50 ? true : undefined),
      20_000,
      "the second server to store samples",
    );
    expect((await trpcClient(first.url).collector.status.query()).stored).toBe(storedWhenStopped);
  });
});
