import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
const MIB = 1024 * 1024;
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

/** Bytes on disk: the database file and its write-ahead log. */
const onDisk = (dbPath: string) =>
  [dbPath, `${dbPath}-wal`].reduce((sum, file) => sum + (fs.existsSync(file) ? fs.statSync(file).size : 0), 0);

/**
 * One GPU, `ticks` seconds of readings that vary as a busy GPU's do (so that
 * sealed chunks take what real ones take), in nvidia-smi's CSV format.
 */
function writeBusyRecording(file: string, ticks: number) {
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const start = new Date(2026, 0, 15, 8).getTime();
  const two = (n: number) => String(n).padStart(2, "0");
  const lines = [
    "timestamp, index, uuid, temperature.gpu, power.draw [W], utilization.gpu [%], memory.used [MiB], clocks.current.graphics [MHz]",
  ];
  for (let i = 0; i < ticks; i++) {
    const t = new Date(start + i * 1000);
    const stamp = `${t.getFullYear()}/${two(t.getMonth() + 1)}/${two(t.getDate())} ${two(t.getHours())}:${two(t.getMinutes())}:${two(t.getSeconds())}.000`;
    lines.push(
      `${stamp}, 0, GPU-0d0d0d0d-0000-4000-8000-000000000000, ${30 + Math.floor(random() * 50)}, ${(80 + random() * 600).toFixed(2)} W, ` +
        `${Math.floor(random() * 101)} %, ${Math.floor(random() * 140_000)} MiB, ${345 + Math.floor(random() * 1600)} MHz`,
    );
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

describe("the size cap (NVOC_MAX_DB_MB)", () => {
  it("keeps the database file and its write-ahead log within a small cap after pruning", async () => {
    const recording = path.join(dir, "busy.csv");
    const ticks = 400_000;
    writeBusyRecording(recording, ticks);
    const dbPath = path.join(dir, "capped", "telemetry.db");
    const server = await startServerProcess({
      NVOC_SOURCE: `replay:${recording}`,
      NVOC_REPLAY_SPEED: "max",
      NVOC_MAX_DB_MB: "2",
      NVOC_PRUNE_INTERVAL_S: "1",
      NVOC_DB_PATH: dbPath,
    });
    servers.push(server);
    const client = trpcClient(server.url);
    await server.waitForLog((l) => l.msg.startsWith("source finished"), 120_000);
    await waitFor(
      async () => ((await client.collector.status.query()).stored === ticks ? true : undefined),
      60_000,
      "every sample written",
    );

    const result = await client.database.prune.mutate({ force: false });
    const bytes = onDisk(dbPath);
    expect(bytes, `${bytes} bytes on disk`).toBeLessThanOrEqual(2 * MIB);
    expect(result.bytesAfter).toBeLessThanOrEqual(2 * MIB);
    // The oldest went, the newest stayed.
    const stats = await client.database.stats.query();
    expect(stats.totalRecords).toBeGreaterThan(0);
    expect(stats.totalRecords).toBeLessThan(ticks);
    expect(stats.newest).toBeGreaterThan(Date.now() - 60_000);
    expect(stats.oldest).toBeGreaterThan(stats.newest! - ticks * 1000);
    await server.stop();
  });

  it("keeps the write-ahead log within the cap while every row is still unsealed and pruning has nothing to delete", async () => {
    const dbPath = path.join(dir, "unsealed", "telemetry.db");
    const server = await startServerProcess({
      NVOC_SOURCE: "simulated",
      NVOC_SIM_GPUS: "1",
      NVOC_INTERVAL_MS: "100",
      NVOC_MAX_DB_MB: "2",
      NVOC_DB_PATH: dbPath,
    });
    servers.push(server);
    const client = trpcClient(server.url);
    // A flush every 100 ms: by 100 samples, as many transactions have gone through the log.
    await waitFor(async () => ((await client.collector.status.query()).stored >= 100 ? true : undefined), 60_000, "100 samples written");
    const result = await client.database.prune.mutate({ force: false });
    expect(result.deletedChunks).toBe(0);
    const bytes = onDisk(dbPath);
    expect(bytes, `${bytes} bytes on disk`).toBeLessThanOrEqual(2 * MIB);
    await server.stop();
  });

  it("refuses a cap too small to hold one chunk per GPU, naming NVOC_MAX_DB_MB and the smallest value that works", async () => {
    const env = (mb: number) => ({
      NVOC_SOURCE: "simulated",
      NVOC_SIM_GPUS: "16",
      NVOC_INTERVAL_MS: "100",
      NVOC_MAX_DB_MB: String(mb),
      NVOC_DB_PATH: path.join(dir, `small-${mb}.db`),
    });
    const refusal = await startServerProcess(env(1), 30_000).then(
      (server) => {
        servers.push(server);
        throw new Error("a 1 MB cap for 16 GPUs sampled every 100 ms was accepted");
      },
      (error: Error) => error.message,
    );
    expect(refusal).toMatch(/server exited \(code 2\)/);
    const smallest = Number(/NVOC_MAX_DB_MB must be at least (\d+) for 16 GPUs sampled every 100 ms/.exec(refusal)?.[1]);
    expect(smallest).toBeGreaterThan(2);

    await expect(startServerProcess(env(smallest - 1), 30_000)).rejects.toThrow(`NVOC_MAX_DB_MB must be at least ${smallest}`);
    const accepted = await startServerProcess(env(smallest), 30_000);
    servers.push(accepted);
    const status = await trpcClient(accepted.url).health.status.query();
    expect(status.database.available).toBe(true);
    expect(status.database.maxBytes).toBe(smallest * MIB);
    expect((await accepted.stop()).code).toBe(0);
  });
});
