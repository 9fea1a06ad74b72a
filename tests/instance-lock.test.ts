import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

describe("one recorder per database", () => {
  it("refuses a second instance on the same database, naming the first, and frees the lock on exit", async () => {
    const dbPath = path.join(dir, "shared", "telemetry.db");
    const first = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath });
    servers.push(first);
    const owner = JSON.parse(fs.readFileSync(`${dbPath}.lock`, "utf8")) as { pid: number; url: string };
    expect(owner).toMatchObject({ pid: first.child.pid, url: first.url });

    const second = startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath }, 20_000);
    await expect(second).rejects.toThrow(new RegExp(`another nvidia-oc is already recording into .*pid ${first.child.pid} .*serving ${first.url.replace(/[.:/]/g, "\\$&")}`));

    expect((await first.stop()).code).toBe(0);
    expect(fs.existsSync(`${dbPath}.lock`)).toBe(false);
  });

  it("takes over a lock left by a process that is gone", async () => {
    const dbPath = path.join(dir, "stale", "telemetry.db");
    fs.mkdirSync(path.dirname(dbPath), { recursive: true });
    // The pid of a process that has exited.
    const gone = spawnSync(process.execPath, ["-e", "process.exit(0)"]).pid;
    fs.writeFileSync(`${dbPath}.lock`, JSON.stringify({ pid: gone, hostname: os.hostname(), startedAt: "2026-01-01T00:00:00.000Z", url: null }));
    const server = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_DB_PATH: dbPath });
    servers.push(server);
    expect(server.logs.some((l) => l.msg.startsWith("took over the lock") && l.previousPid === gone)).toBe(true);
    expect(JSON.parse(fs.readFileSync(`${dbPath}.lock`, "utf8")).pid).toBe(server.child.pid);
  });
});
