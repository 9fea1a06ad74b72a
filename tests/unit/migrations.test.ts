import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
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
});
