import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { simulatedGpuInfo } from "../src/server/sources/simulated";
import { applyMigrations, knownMigrationNames, MIGRATIONS_DIR } from "../src/server/storage/migrations";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { runCliIn } from "./helpers/cli-run";
import { samplesIn, writeHistory } from "./helpers/history-db";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * Moving history: an export imported back, a backup taken while the server
 * records hard, a restore, and another recorder's database merged in; all
 * through the real command line, against real files and a real server.
 */

const dir = tempDir("nvoc-backup-");
const runCli = (args: string[], env: Record<string, string> = {}) => runCliIn(dir, args, env);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A source that ends at once: the server serves what the database holds and records nothing. */
function idleSource(): string {
  const file = path.join(dir, "header-only.csv");
  fs.writeFileSync(file, "timestamp, index, uuid, temperature.gpu\n");
  return `replay:${file}`;
}

const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
});

async function serve(dbPath: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ NVOC_DB_PATH: dbPath, NVOC_SOURCE: idleSource(), ...env });
  servers.push(server);
  return server;
}

/** `nvidia-oc export` of every sample the server at `url` holds, to a file; returns its text. */
async function exported(url: string, format: "csv" | "json", name: string): Promise<string> {
  const file = path.join(dir, name);
  const result = await runCli(["export", "--format", format, "--hours", "2160", "--output", file, "--url", url]);
  expect(result.code, result.stderr).toBe(0);
  return fs.readFileSync(file, "utf8");
}

const integrity = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma("integrity_check", { simple: true });
  } finally {
    db.close();
  }
};

describe("nvidia-oc import reads what nvidia-oc export writes", () => {
  it("export, import into an empty database, export again: the same file, CSV and JSON; into its own database it adds nothing", async () => {
    const original = path.join(dir, "original.db");
    // Three GPUs, 700 s each ending a minute ago: sealed chunks and open rows, every metric N/A somewhere.
    const written = writeHistory(original, { indexes: [0, 1, 2], count: 700, start: Date.now() - MINUTE - 700_000 });
    // A name CSV has to quote.
    const named = new Database(original);
    named.prepare(`UPDATE Gpu SET name = ? WHERE "index" = 2`).run('Lab "A", rack 2');
    named.close();
    const source = await serve(original);
    const csv = await exported(source.url, "csv", "original.csv");
    const json = await exported(source.url, "json", "original.json");
    expect(csv.split("\r\n").length - 2).toBe(written.length);
    expect(csv).toContain(',"Lab ""A"", rack 2",');
    expect(await source.stop()).toMatchObject({ code: 0 });

    for (const [format, text] of [
      ["csv", csv],
      ["json", json],
    ] as const) {
      const copy = path.join(dir, `from-${format}.db`);
      const imported = await runCli(["import", path.join(dir, `original.${format}`), "--db-path", copy]);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain(`imported ${written.length.toLocaleString("en")} samples of 3 GPUs`);
      expect(samplesIn(copy)).toEqual(samplesIn(original));
      const server = await serve(copy);
      expect(await exported(server.url, format, `again.${format}`)).toBe(text);
      await server.stop();
    }

    const again = await runCli(["import", path.join(dir, "original.csv"), "--db-path", original]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("imported 0 samples of 3 GPUs");
    expect(again.stdout).toContain(`skipped ${written.length.toLocaleString("en")} samples the database already held`);
  });

  it("a file it cannot read is refused, naming what it expected; a bad record is named by line and field", async () => {
    const notes = path.join(dir, "notes.txt");
    fs.writeFileSync(notes, "some notes, not telemetry\n");
    const refused = await runCli(["import", notes, "--db-path", path.join(dir, "refused.db")]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "expected an nvidia-oc export (CSV or JSON), an nvidia-oc database or backup, or an nvidia-smi CSV log with its header line",
    );
    expect(fs.existsSync(path.join(dir, "refused.db"))).toBe(false);

    const uuid = simulatedGpuInfo(0).uuid;
    const at = new Date(Date.now() - HOUR).toISOString();
    const csv = path.join(dir, "bad-record.csv");
    fs.writeFileSync(
      csv,
      `gpu_index,gpu_uuid,gpu_name,timestamp,temperature\r\n0,${uuid},H200,${at},41\r\n0,${uuid},H200,${at.replace("Z", "")}x,40\r\n0,${uuid},H200,${at},warm\r\n`,
    );
    const partly = await runCli(["import", csv, "--db-path", path.join(dir, "partly.db")]);
    expect(partly.code, partly.stderr).toBe(0);
    expect(partly.stdout).toContain("imported 1 samples of 1 GPU (0: H200)");
    expect(partly.stdout).toContain("line 3: timestamp: must be an ISO-8601 time");
    expect(partly.stdout).toContain("line 4: temperature: must be a number or empty");

    const header = path.join(dir, "unknown-column.csv");
    fs.writeFileSync(header, `gpu_index,gpu_uuid,gpu_name,timestamp,warmth\r\n`);
    const unknown = await runCli(["import", header, "--db-path", path.join(dir, "partly.db")]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("the header is not an nvidia-oc CSV export's: unknown column warmth");
  });
});

describe("nvidia-oc backup and restore, with 64 GPUs recording every 100 ms", () => {
  const dbPath = path.join(dir, "busy.db");
  const backup = path.join(dir, "busy-backup.db");
  let server: ServerProcess;

  it("backup copies an intact database holding every sample stored before it began, while recording goes on", async () => {
    // An hour of 64 GPUs stored already, and 48 MB that do not compress (rows set aside, as a worn
    // recorder gathers them), so the copy spans many of the server's 100 ms flushes.
    writeHistory(dbPath, { indexes: Array.from({ length: 64 }, (_, i) => i), count: 360, start: Date.now() - HOUR, stepMs: 10_000 });
    const bulk = new Database(dbPath);
    const setAside = bulk.prepare(`INSERT INTO QuarantinedRow (gpuId, ts, at, reason, row) VALUES (0, NULL, ?, 'bulk', ?)`);
    bulk.transaction(() => {
      for (let i = 0; i < 480; i++) setAside.run(Date.now(), randomBytes(50_000).toString("hex"));
    })();
    bulk.close();
    server = await serve(dbPath, { NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "64", NVOC_INTERVAL_MS: "100" });
    const client = trpcClient(server.url);
    await waitFor(async () => ((await client.collector.status.query()).stored >= 64 * 20 ? true : undefined), 30_000, "live samples");
    const before = await client.database.stats.query();
    const storedBefore = (await client.collector.status.query()).stored;

    const result = await runCli(["backup", backup, "--db-path", dbPath]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`backed up ${dbPath} to ${backup}`);
    expect(result.stdout).toContain("integrity checked");
    // Recording went on: samples were stored while the copy was made.
    expect((await client.collector.status.query()).stored).toBeGreaterThan(storedBefore);

    expect(integrity(backup)).toBe("ok");
    const { store } = TelemetryStore.open(backup);
    try {
      expect(store.gpus()).toHaveLength(64);
      for (const gpu of before.perGpu) {
        const held = store.readSamples({ gpuIds: [store.gpuByUuid(gpu.gpuUuid)!.id], from: 0, to: gpu.newest! });
        expect(held.length, gpu.gpuUuid).toBe(gpu.records);
      }
    } finally {
      store.close();
    }

    const refused = await runCli(["backup", backup, "--db-path", dbPath]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${backup} exists already`);
  });

  it("restore is refused while the server records, then replaces the database and keeps the one it replaced", async () => {
    const refused = await runCli(["restore", backup, "--db-path", dbPath]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`a server is recording into ${dbPath} (pid ${server.child.pid} on `);
    expect(refused.stderr).toContain("stop it, restore, then start it again");
    expect(fs.readdirSync(dir).filter((name) => name.includes("before-restore"))).toEqual([]);

    expect(await server.stop()).toMatchObject({ code: 0 });
    const recorded = samplesIn(dbPath).length;
    const backedUp = samplesIn(backup).length;
    expect(recorded).toBeGreaterThan(backedUp);

    const restored = await runCli(["restore", backup, "--db-path", dbPath]);
    expect(restored.code, restored.stderr).toBe(0);
    const kept = fs.readdirSync(dir).filter((name) => name.startsWith("busy.db.before-restore-"));
    expect(kept).toHaveLength(1);
    expect(restored.stdout).toContain(`the database it replaced is kept as ${path.join(dir, kept[0])}`);
    expect(samplesIn(dbPath).length).toBe(backedUp);
    expect(samplesIn(path.join(dir, kept[0])).length).toBe(recorded);
    expect(fs.existsSync(`${dbPath}.lock`)).toBe(false);
  });

  it("restore refuses a damaged file or one from a newer version before replacing anything", async () => {
    const before = fs.readdirSync(dir).filter((name) => name.includes("before-restore")).length;
    const damaged = path.join(dir, "damaged.db");
    fs.writeFileSync(damaged, Buffer.concat([Buffer.from("SQLite format 3\0"), Buffer.alloc(4096, 7)]));
    const refusedDamaged = await runCli(["restore", damaged, "--db-path", dbPath]);
    expect(refusedDamaged.code).toBe(1);
    expect(refusedDamaged.stderr).toMatch(/damaged\.db (cannot be opened as a database|is damaged)/);

    const newer = path.join(dir, "newer.db");
    fs.copyFileSync(backup, newer);
    const db = new Database(newer);
    db.prepare(
      `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at) VALUES ('x', 'x', 1, '29991231000000_future', 1)`,
    ).run();
    db.close();
    const refusedNewer = await runCli(["restore", newer, "--db-path", dbPath]);
    expect(refusedNewer.code).toBe(1);
    expect(refusedNewer.stderr).toContain(
      "was written by a newer nvidia-oc (schema migration 29991231000000_future is unknown to this one)",
    );
    expect(fs.readdirSync(dir).filter((name) => name.includes("before-restore"))).toHaveLength(before);
  });
});

describe("nvidia-oc restore of a backup an older version made", () => {
  it("brings its schema up to date before it replaces anything, and its samples read as before", async () => {
    // The first migrations only, as the earliest release left a database.
    const oldMigrations = path.join(dir, "old-migrations");
    const first = knownMigrationNames().slice(0, 2);
    for (const name of first) fs.cpSync(path.join(MIGRATIONS_DIR, name), path.join(oldMigrations, name), { recursive: true });
    const old = path.join(dir, "old-backup.db");
    const db = new Database(old);
    applyMigrations(db, oldMigrations);
    db.prepare(`INSERT INTO Gpu (uuid, "index", name, firstSeen, lastSeen) VALUES ('GPU-old', 0, 'Old card', 1, 1)`).run();
    const at = Date.now() - HOUR;
    db.prepare(`INSERT INTO RecentSample (gpuId, ts, temperatureC, powerDrawW) VALUES (1, ?, 50, 120.5)`).run(at);
    db.close();

    const target = path.join(dir, "restored-old.db");
    const restored = await runCli(["restore", old, "--db-path", target]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).not.toContain("kept as");
    const check = new Database(target, { readonly: true });
    expect(check.prepare(`SELECT migration_name FROM _prisma_migrations ORDER BY migration_name`).pluck().all()).toEqual(
      knownMigrationNames(),
    );
    check.close();
    expect(samplesIn(target)).toEqual([expect.objectContaining({ uuid: "GPU-old", timestamp: at, temperatureC: 50, powerDrawW: 120.5 })]);
    // The backup itself is left as it was.
    const backup = new Database(old, { readonly: true });
    expect(backup.prepare(`SELECT count(*) FROM _prisma_migrations`).pluck().get()).toBe(first.length);
    backup.close();
  });
});

describe("nvidia-oc import <database> merges another recorder's history", () => {
  it("merges GPUs by UUID over overlapping time, skips what is held, and says what retention and the size cap will remove", async () => {
    const here = path.join(dir, "here.db");
    const there = path.join(dir, "there.db");
    const start = Date.now() - 2 * DAY;
    // Here: GPUs 0 and 1 for two days, one sample a minute. There: GPU 1 over most of the second day and GPU 7, the other recorder's own.
    const ours = writeHistory(here, { indexes: [0, 1], count: 2 * 24 * 60, start, stepMs: MINUTE });
    const theirs = writeHistory(there, { indexes: [1, 7], count: 36 * 60, start: start + DAY - 2 * HOUR, stepMs: 30_000 });
    const db = new Database(there);
    const gpu7 = (db.prepare(`SELECT id FROM Gpu WHERE uuid = ?`).get(simulatedGpuInfo(7).uuid) as { id: number }).id;
    db.prepare(`INSERT INTO GpuEvent (gpuId, at, kind, detail) VALUES (?, ?, 'xid', '{"xid":79,"meaning":"fallen off the bus"}')`).run(
      gpu7,
      start + DAY,
    );
    // The other recorder's own: not this one's runs.
    db.prepare(`INSERT INTO GpuEvent (gpuId, at, kind, detail) VALUES (NULL, ?, 'recorder_stopped', '{"clean":true}')`).run(start + DAY);
    db.prepare(
      `INSERT INTO ProcessSession (gpuId, pid, processName, user, startedAt, lastSeen, endedAt, peakMemoryMib, gpuSeconds, energyJ)
       VALUES (?, 4242, 'python', 'alice', ?, ?, ?, 20480, 3600, 1.5e6)`,
    ).run(gpu7, start + DAY, start + DAY + HOUR, start + DAY + HOUR);
    db.close();

    const overlap = new Set(ours.map((s) => `${s.uuid}@${s.timestamp}`));
    const fresh = theirs.filter((s) => !overlap.has(`${s.uuid}@${s.timestamp}`));
    const merged = await runCli(["import", there, "--db-path", here, "--retention-days", "1", "--max-db-mb", "1"]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stdout).toContain(`imported ${fresh.length.toLocaleString("en")} samples of 2 GPUs`);
    expect(merged.stdout).toContain(`skipped ${(theirs.length - fresh.length).toLocaleString("en")} samples the database already held`);
    expect(merged.stdout).toContain("merged 1 events (skipped 1 of the other recorder's own (started, stopped, pruned))");
    expect(merged.stdout).toContain("merged 1 usage sessions");
    // Older than a day when the import ran, a few seconds after `start` was taken two days ago.
    const old = fresh.filter((s) => s.timestamp <= start + DAY).length;
    expect(merged.stdout).toMatch(new RegExp(`${old.toLocaleString("en")} of them are older than the retention \\(1 days`));
    expect(merged.stdout).toContain("over 90 % of its size cap");

    const byKey = (s: { uuid: string; timestamp: number }) => `${s.uuid}@${s.timestamp}`;
    const held = samplesIn(here);
    expect(new Set(held.map(byKey))).toEqual(new Set([...ours, ...theirs].map(byKey)));
    // Rollups were made by the write path: they count every sealed sample.
    const check = new Database(here, { readonly: true });
    const sealed = check.prepare(`SELECT gpuId, sum(rowCount) AS n FROM SampleChunk GROUP BY gpuId ORDER BY gpuId`).all();
    expect(check.prepare(`SELECT gpuId, sum(rowCount) AS n FROM HourlyRollup GROUP BY gpuId ORDER BY gpuId`).all()).toEqual(sealed);
    expect(check.prepare(`SELECT kind FROM GpuEvent`).pluck().all()).toEqual(["xid"]);
    expect(
      check.prepare(`SELECT g.uuid, s.pid, s.user, s.gpuSeconds, s.energyJ FROM ProcessSession s JOIN Gpu g ON g.id = s.gpuId`).all(),
    ).toEqual([{ uuid: simulatedGpuInfo(7).uuid, pid: 4242, user: "alice", gpuSeconds: 3600, energyJ: 1.5e6 }]);
    check.close();
    expect(fs.readdirSync(dir).filter((name) => name.includes(".merging-"))).toEqual([]);

    const again = await runCli(["import", there, "--db-path", here]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("imported 0 samples of 2 GPUs");
    expect(again.stdout).toContain("merged 0 events (skipped 1 already held; 1 of the other recorder's own (started, stopped, pruned))");
    expect(again.stdout).toContain("merged 0 usage sessions (skipped 1 already held)");
  });
});
