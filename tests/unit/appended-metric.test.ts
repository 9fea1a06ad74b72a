import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../helpers/fixtures";
import { tempDir } from "../helpers/temp-dir";

/**
 * A metric appended to the catalogue, in a copy of the source tree, with nothing else
 * changed but the migration for its column: it must be stored, read back, summarised,
 * named in every record and exported, while chunks and summaries written before it still
 * read (it was not recorded then). Proves the derived parts cannot drift from the catalogue.
 */

const ENTRY = `  { key: "throwawayWatts", restName: "throwaway_watts", column: 18, unit: "W", decimals: 1, type: "float", minimum: 0, description: "A metric appended by a test.", prometheus: { name: "NVOC_TEST_THROWAWAY_WATTS", help: "A metric appended by a test (in W)." } },\n`;
const CATALOGUE_END = "] as const satisfies readonly MetricDefinition[];";

function treeWithAppendedMetric(root: string): void {
  for (const part of ["src", "tests/helpers", "prisma", "package.json"]) {
    fs.cpSync(path.join(REPO_ROOT, part), path.join(root, part), { recursive: true });
  }
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
  const catalogue = path.join(root, "src", "telemetry", "metric-catalogue.ts");
  const source = fs.readFileSync(catalogue, "utf8");
  expect(source).toContain(CATALOGUE_END);
  fs.writeFileSync(catalogue, source.replace(CATALOGUE_END, `${ENTRY}${CATALOGUE_END}`));
  const migration = path.join(root, "prisma", "migrations", "99991231000000_throwaway_metric");
  fs.mkdirSync(migration);
  fs.writeFileSync(path.join(migration, "migration.sql"), `ALTER TABLE "RecentSample" ADD COLUMN "throwawayWatts" REAL;\n`);
}

// At the top of the file: a folder made inside a test is never removed (its afterAll comes too late).
const root = tempDir("nvoc-appended-");

describe("a metric appended to the catalogue", () => {
  it("is stored, read back, summarised, in every record and in /metrics; older chunks still read", () => {
    treeWithAppendedMetric(path.join(root, "tree"));
    const databases = path.join(root, "databases");
    fs.mkdirSync(databases);
    const output = execFileSync(process.execPath, ["--import", "tsx", "tests/helpers/appended-metric-check.ts", databases, REPO_ROOT], {
      cwd: path.join(root, "tree"),
      encoding: "utf8",
    });
    const seen = JSON.parse(output) as Record<string, unknown>;
    const written = Array.from({ length: 10 }, (_, i) => Math.round((12.3 + i) * 10) / 10);
    const newestFirst = [...written].reverse();
    expect(seen).toStrictEqual({
      oldChunkValues: [null],
      oldChunkPowerDraw: expect.arrayContaining([expect.any(Number)]) as number[],
      oldVersion2ChunkValues: [null],
      oldVersion2ChunkPowerDraw: expect.arrayContaining([expect.any(Number)]) as number[],
      oldSummaryCount: 0,
      oldMinutesCount: 0,
      sealedChunks: 2,
      sealedStats: { count: 8, min: 12.3, max: 19.3, avg: 15.8 },
      history: newestFirst,
      records: newestFirst,
      json: newestFirst,
      prometheus: [expect.stringMatching(/^NVOC_TEST_THROWAWAY_WATTS\{gpu="0",.*\} 21\.3$/)],
      belowMinimum: "rejected",
    });
  }, 60_000);
});
