import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { StorageManager } from "../../src/server/storage/storage-manager";
import { infoLookup, simulatedSamples } from "../helpers/samples";
import { waitFor } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();

/** A logger whose lines the test can read. */
function capturingLog() {
  const lines: Array<{ level: number; msg: string; movedTo?: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as (typeof lines)[number]);
      done();
    },
  });
  return { log: pino({ level: "info" }, sink), lines };
}

describe("a corrupt database file at start", () => {
  it("is moved aside as <file>.corrupt-<time>, untouched, and a fresh database takes its place", async () => {
    const dbPath = path.join(dir, "telemetry.db");
    const garbage = Buffer.from("not a database: ".repeat(512));
    fs.writeFileSync(dbPath, garbage);
    fs.writeFileSync(`${dbPath}-wal`, "stale write-ahead log");
    const { log, lines } = capturingLog();
    const storage = new StorageManager({
      dbPath,
      policy: { retentionMs: 86_400_000, maxBytes: 500 * 2 ** 20, highWater: 0.9, lowWater: 0.7 },
      pruneIntervalMs: 300_000,
      log,
    });

    expect(storage.open()).toBe(true);
    const moved = fs.readdirSync(dir).filter((f) => /^telemetry\.db\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/.test(f));
    expect(moved).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, moved[0]))).toEqual(garbage);
    expect(fs.readFileSync(path.join(dir, `${moved[0]}-wal`), "utf8")).toBe("stale write-ahead log");
    const report = lines.find((l) => l.msg.startsWith("the telemetry database is not an SQLite file"));
    expect(report?.level).toBe(50);
    expect(report?.movedTo).toBe(path.join(dir, moved[0]));

    // The fresh database works.
    const { infos, samples } = simulatedSamples({ gpus: 1, count: 5, start: Date.now() - 5000 });
    expect(storage.requireStore().writeSamples(samples, infoLookup(infos))).toBe(5);
    await storage.close();
  });
});

describe("a database file deleted while running", () => {
  it("is noticed, recreated and written again, with a log line saying so", async () => {
    const dbPath = path.join(dir, "deleted", "telemetry.db");
    const { log, lines } = capturingLog();
    const storage = new StorageManager({
      dbPath,
      policy: { retentionMs: 86_400_000, maxBytes: 500 * 2 ** 20, highWater: 0.9, lowWater: 0.7 },
      pruneIntervalMs: 300_000,
      fileCheckIntervalMs: 50,
      log,
    });
    expect(storage.open()).toBe(true);
    const before = storage.requireStore();
    const first = simulatedSamples({ gpus: 1, count: 5, start: Date.now() - 60_000 });
    before.writeSamples(first.samples, infoLookup(first.infos));
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(dbPath + suffix, { force: true });

    await waitFor(() => (storage.store && storage.store !== before ? true : undefined), 5000, "the database to be recreated");
    expect(fs.existsSync(dbPath)).toBe(true);
    expect(lines.some((l) => l.level === 50 && l.msg.startsWith("the telemetry database file was deleted or replaced"))).toBe(true);
    const after = simulatedSamples({ gpus: 1, count: 3, start: Date.now() - 3000 });
    storage.requireStore().writeSamples(after.samples, infoLookup(after.infos));
    expect([...storage.requireStore().sampleTotals().values()].map((t) => t.records)).toEqual([3]);
    await storage.close();
  });
});
