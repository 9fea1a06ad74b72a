import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { StorageManager } from "../src/server/storage/storage-manager";
import { infoLookup, simulatedSamples } from "./helpers/samples";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();

/** A logger whose lines the test can read. */
function capturingLog() {
  const lines: Array<{ level: number; msg: string; movedTo?: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
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
