import path from "node:path";
import { describe, expect, it } from "vitest";
import { openDatabase, PAGE_CACHE_BYTES } from "../../src/server/storage/database";
import { tempDir } from "../helpers/temp-dir";

describe("the database's memory", () => {
  it("keeps SQLite's page cache within its budget and maps nothing", () => {
    const { db } = openDatabase(path.join(tempDir("nvoc-db-memory-"), "telemetry.db"));
    try {
      expect(db.pragma("cache_size", { simple: true })).toBe(-PAGE_CACHE_BYTES / 1024);
      expect(db.pragma("mmap_size", { simple: true })).toBe(0);
    } finally {
      db.close();
    }
  });
});
