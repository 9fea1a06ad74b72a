import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { windowStats } from "../../src/server/storage/telemetry-queries";
import { emptySummary } from "../../src/server/storage/metric-summary";
import { mergeStoredSummary } from "../../src/server/storage/period-summaries";
import { encodeSummary } from "../helpers/summary-v1-writer";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { simulatedSamples } from "../helpers/samples";
import { ROOT } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();

describe("migrations applied at startup", () => {
  it("leave the database exactly where Prisma's own migrate status expects it", () => {
    const dbPath = path.join(dir, "status.db");
    TelemetryStore.open(dbPath).store.close();
    const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", "prisma.mjs"), "migrate", "status"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: `file:${dbPath}` },
    });
    expect(result.stdout + result.stderr).toContain("Database schema is up to date");
    expect(result.status).toBe(0);
  });

  it("are what makes it up to date: an unmigrated file is not reported so", () => {
    const result = spawnSync(process.execPath, [path.join(ROOT, "scripts", "prisma.mjs"), "migrate", "status"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, DATABASE_URL: `file:${path.join(dir, "empty.db")}` },
    });
    expect(result.stdout + result.stderr).not.toContain("Database schema is up to date");
    expect(result.status).not.toBe(0);
  });

  it("put a version byte in front of every summary a database held before summaries had one, so its statistics read the same", () => {
    const dbPath = path.join(dir, "summaries.db");
    const first = TelemetryStore.open(dbPath).store;
    const { infos, samples } = simulatedSamples({ gpus: 2, count: 1500, start: Date.UTC(2026, 10, 30), stepMs: 1000 });
    first.registerGpus(infos);
    first.writeSamples(samples, () => undefined);
    const range = { from: Date.UTC(2026, 10, 29), to: Date.UTC(2026, 11, 1) };
    const before = windowStats(first, range);
    // As such a database was: the same summaries in format version 1 without its first byte, the migration not yet applied.
    for (const [table, key] of [
      ["SampleChunk", "id"],
      ["HourlyRollup", "rowid"],
      ["DailyRollup", "rowid"],
    ]) {
      const rows = first.db.prepare(`SELECT ${key} AS key, "summary" FROM "${table}"`).all() as Array<{ key: number; summary: Buffer }>;
      const rewrite = first.db.prepare(`UPDATE "${table}" SET "summary" = ? WHERE ${key} = ?`);
      for (const { key: row, summary } of rows) {
        const merged = emptySummary();
        mergeStoredSummary(merged, summary);
        rewrite.run(encodeSummary(merged).subarray(1), row);
      }
    }
    first.db.exec(`DELETE FROM "_prisma_migrations" WHERE migration_name LIKE '%_summary_format_version'`);
    first.close();

    const { store, appliedMigrations } = TelemetryStore.open(dbPath);
    const after = windowStats(store, range);
    const firstBytes = store.db.prepare(`SELECT DISTINCT substr(hex("summary"), 1, 2) FROM "HourlyRollup"`).pluck().all();
    store.close();
    expect(appliedMigrations).toEqual([expect.stringMatching(/_summary_format_version$/)]);
    expect(firstBytes).toEqual(["01"]);
    expect(before.recordCount).toBe(3000);
    // Version 1 summaries count no clock event reasons; everything else reads the same.
    expect(after).toEqual({ ...before, clockReasons: expect.any(Object) as object });
  });
});
