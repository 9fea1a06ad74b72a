/**
 * A full disk, two ways, without root. In process: the writer's own connection
 * is capped with PRAGMA max_page_count, which fails writes with SQLITE_FULL
 * exactly as a full disk does, and the cap is lifted again as space returns.
 * Whole server: started under a file size limit (RLIMIT_FSIZE, `ulimit -S -f`),
 * so the kernel refuses to grow its files (SQLite reports SQLITE_IOERR), then
 * the limit is raised on the running process with prlimit.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { checkDatabase } from "../scripts/lib/database-check";
import { Collector, type Snapshot } from "../src/server/collector/collector";
import { StorageManager } from "../src/server/storage/storage-manager";
import { capturedLog, LEVEL } from "./helpers/captured-log";
import { ManualSource } from "./helpers/manual-source";
import { infoLookup, simulatedSamples } from "./helpers/samples";
import { startServerProcess, trpcClient, waitFor } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir("nvoc-disk-full-");

describe("a full disk under the collector (max_page_count on the writer's connection)", () => {
  it("counts each failed write, logs the run once, keeps the stream and a bounded buffer, and resumes when space returns", async () => {
    const { log, lines } = capturedLog();
    const storage = new StorageManager({
      dbPath: path.join(dir, "capped", "telemetry.db"),
      policy: { retentionMs: 90 * 86_400_000, maxBytes: 500 * 2 ** 20, highWater: 0.9, lowWater: 0.7 },
      pruneIntervalMs: 300_000,
      log,
    });
    expect(storage.open()).toBe(true);
    const source = new ManualSource();
    const maxPending = 40;
    // The test flushes by hand, as the server's timer does once a second.
    const collector = new Collector({ source, storage, log, intervalMs: 100_000, flushIntervalMs: 100_000, maxPending });
    await collector.start();
    // All inside one ten-minute slot: sealing a chunk would free pages and let a write through.
    const slot = Math.floor(Date.now() / 600_000) * 600_000 - 600_000;
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 4000, start: slot, stepMs: 100 });
    source.sink!.gpus(infos);
    const ticks = Array.from({ length: samples.length / 2 }, (_, i) => samples.slice(2 * i, 2 * i + 2));
    const snapshots: Snapshot[] = [];
    collector.subscribe((snapshot) => snapshots.push(snapshot));
    let sent = 0;
    const collectTick = () => source.sink!.samples(ticks[sent++]);

    const db = storage.requireStore().db;
    const uncapped = db.pragma("max_page_count", { simple: true }) as number;
    // The file may not grow past the pages it has now: the disk is full.
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true }) as number}`);
    // Free room in its pages still takes some rows (a 32 KiB page holds about 300); then writes fail.
    while (collector.status().writeFailures === 0 && sent < 1000) {
      await collectTick();
      collector.flush();
    }
    expect(collector.status().writeFailures).toBe(1);
    const failedFlushes = 60;
    for (let i = 1; i < failedFlushes; i++) {
      await collectTick();
      expect(collector.flush()).toBe(0);
    }

    const failing = collector.status();
    expect(failing.writeFailures).toBe(failedFlushes);
    expect(failing.lastError).toMatch(/database or disk is full/);
    expect(failing.writesFailingSince).not.toBeNull();
    expect(failing.pending).toBe(maxPending);
    expect(failing.dropped).toBeGreaterThan(0);
    expect(failing.collected).toBe(failing.stored + failing.pending + failing.dropped);
    // Live subscribers got every tick while nothing could be written.
    expect(snapshots).toHaveLength(sent);
    // One line for the run of identical failures and one for the drops, not one per flush.
    const failureLines = lines.filter((l) => l.level === LEVEL.error && /database or disk is full/.test(l.msg));
    expect(failureLines).toHaveLength(1);
    expect(failureLines[0].code).toBe("SQLITE_FULL");
    expect(lines.filter((l) => l.msg === "pending buffer full: oldest samples dropped")).toHaveLength(1);

    // Space returns.
    db.pragma(`max_page_count = ${uncapped}`);
    expect(collector.flush()).toBe(maxPending);
    const resumed = collector.status();
    expect(resumed).toMatchObject({ pending: 0, writesFailingSince: null, writeFailures: failedFlushes });
    expect(resumed.stored + resumed.dropped).toBe(resumed.collected);
    const recovery = lines.find((l) => l.msg === "writing samples works again");
    expect(recovery).toMatchObject({ level: LEVEL.info, failures: failedFlushes, dropped: resumed.dropped });

    // What was kept is the newest; all of it is on disk, and the file is sound.
    const store = storage.requireStore();
    const stored = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(stored).toHaveLength(resumed.stored);
    expect(stored.at(-1)!.timestamp).toBe(ticks[sent - 1][0].timestamp);
    expect(stored.slice(-maxPending).map((s) => s.timestamp)).toEqual(
      samples.slice(2 * sent - maxPending, 2 * sent).map((s) => s.timestamp),
    );
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");

    // Later writes go on as usual.
    await collectTick();
    expect(collector.flush()).toBe(2);
    await collector.stop();
    await storage.close();
  });

  it("registers GPUs seen for the first time during the outage once writing works again", async () => {
    const storage = new StorageManager({
      dbPath: path.join(dir, "new-gpu", "telemetry.db"),
      policy: { retentionMs: 90 * 86_400_000, maxBytes: 500 * 2 ** 20, highWater: 0.9, lowWater: 0.7 },
      pruneIntervalMs: 300_000,
      log: capturedLog().log,
    });
    storage.open();
    const store = storage.requireStore();
    // More than the free room in the pages of an empty file (576 KiB) takes.
    const { infos, samples } = simulatedSamples({ gpus: 3, count: 50_000, start: Date.now() - 50_000_000 });
    const uncapped = store.db.pragma("max_page_count", { simple: true }) as number;
    store.db.pragma(`max_page_count = ${store.db.pragma("page_count", { simple: true }) as number}`);
    expect(() => store.writeSamples(samples, infoLookup(infos))).toThrow(/database or disk is full/);
    // The failed transaction left nothing behind, in memory or on disk.
    expect(store.gpus()).toEqual([]);
    store.db.pragma(`max_page_count = ${uncapped}`);
    expect(store.writeSamples(samples, infoLookup(infos))).toBe(samples.length);
    expect(store.gpus().map((g) => g.index)).toEqual([0, 1, 2]);
    expect([...store.sampleTotals().values()].map((t) => t.records)).toEqual([50_000, 50_000, 50_000]);
    await storage.close();
  });
});

interface StreamMessage {
  gpus: Array<{ gpu_index: number; timestamp: string }>;
}

describe("a full disk under the running server (file size limit)", () => {
  it("counts failed writes, keeps serving status and the live stream, and writes everything once the limit is lifted", async () => {
    const dbPath = path.join(dir, "limited", "telemetry.db");
    // A soft limit only, so the hard limit (unlimited) lets prlimit lift it later without root.
    const limitKib = 1024;
    const server = await startServerProcess(
      { NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "8", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: dbPath },
      60_000,
      { launchVia: ["bash", "-c", `ulimit -S -f ${limitKib} && exec "$@"`, "bash"] },
    );
    try {
      const client = trpcClient(server.url);
      const full = await waitFor(
        async () => {
          const status = await client.collector.status.query();
          return status.writeFailures > 0 ? status : undefined;
        },
        60_000,
        "writes to fail at the file size limit",
      );
      expect(full.lastError).toMatch(/disk I\/O error|database or disk is full/);
      expect(full.writesFailingSince).not.toBeNull();

      // The live stream goes on while nothing can be written.
      const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/telemetry/stream?interval=0.1`);
      const readings = new Set<string>();
      ws.on("message", (data) => {
        for (const gpu of (JSON.parse((data as Buffer).toString()) as StreamMessage).gpus) readings.add(gpu.timestamp);
      });
      await waitFor(() => (readings.size >= 5 ? true : undefined), 20_000, "new live readings while writes fail");
      ws.close();
      const stillFailing = await waitFor(
        async () => {
          const status = await client.collector.status.query();
          return status.writeFailures > full.writeFailures && status.collected > full.collected ? status : undefined;
        },
        20_000,
        "more failed writes while sampling goes on",
      );
      expect(stillFailing.pending).toBeGreaterThan(full.pending);
      expect(stillFailing.writesFailingSince).toBe(full.writesFailingSince);
      const failureLines = server.logs.filter((l) => l.level === LEVEL.error && l.msg.startsWith("writing "));
      expect(failureLines.length).toBeLessThan(stillFailing.writeFailures);

      // Space returns.
      const lifted = spawnSync("prlimit", [`--pid=${server.child.pid}`, "--fsize=unlimited"], { encoding: "utf8" });
      expect(lifted.status, lifted.stderr).toBe(0);
      await server.waitForLog((l) => l.msg === "writing samples works again", 20_000);
      const caughtUp = await waitFor(
        async () => {
          const status = await client.collector.status.query();
          return status.stored >= stillFailing.collected ? status : undefined;
        },
        20_000,
        "everything collected during the outage to be written",
      );
      expect(caughtUp).toMatchObject({ dropped: 0, writesFailingSince: null });
    } finally {
      await server.stop();
    }
    const exit = await server.exited;
    expect(exit.code).toBe(0);
    const stopped = await server.waitForLog((l) => l.msg === "stopped");
    expect(stopped).toMatchObject({ pending: 0, dropped: 0, stored: stopped.collected });
    expect(checkDatabase(dbPath)).toEqual({ integrity: "ok", samples: stopped.collected });
  });
});
