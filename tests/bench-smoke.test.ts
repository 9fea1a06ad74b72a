import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./helpers/server-process";

/** Keeps `npm run bench` working: a tiny run must print every figure. No timing is judged here. */
describe("npm run bench -- --smoke", () => {
  it("prints every figure with its baseline", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "run.ts"), "--smoke", "--seconds", "1"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const rows = result.stdout
      .split("\n")
      .filter((line) => line.startsWith("| ") && !line.startsWith("| figure") && !line.startsWith("| ---"));
    const figures = rows.map((row) => row.split("|")[1].trim());
    for (const figure of [
      /^ingest, batch path/,
      /^size, same data/,
      /^size, \d+ GPUs x [\d.]+ days/,
      /^size, real H200 capture replayed/,
      /^history, 1000 records, REST, curl/,
      /^history, 1000 records, REST, Node http client/,
      /^history, 1000 records, REST, Node fetch/,
      /^same-size static body, same client, asked in turn/,
      /^stats 24 h/,
      /^series /,
      /^database stats/,
      /^collector cost/,
      /^collector memory/,
      /^live latency/,
    ]) {
      expect(
        figures.some((f) => figure.test(f)),
        `${figure} in:\n${rows.join("\n")}`,
      ).toBe(true);
    }
    // Every measured cell holds a number.
    for (const row of rows) expect(row.split("|")[2], row).toMatch(/\d/);
  });
});

/** Keeps `npm run bench:load` working: a few seconds of a small load, no errors, no gap in what was stored. */
describe("npm run bench:load -- --smoke", () => {
  it("serves subscribers and requests without an error and stores every tick", () => {
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "bench", "load.ts"), "--smoke"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/\| errors \| 0 \|/);
    const answered = /\| requests sent \/ answered \| (\d+) \/ (\d+) \|/.exec(result.stdout);
    expect(answered?.[1]).toBe(answered?.[2]);
    expect(Number(answered?.[1])).toBeGreaterThan(0);
    expect(result.stdout).toMatch(/SSE events per subscriber, min \/ max \(about \d+ expected\) \| [1-9]\d* \/ \d+, 0 snapshots skipped/);
    expect(result.stdout).toMatch(/WebSocket events per subscriber, min \/ max \(about \d+ expected\) \| [1-9]/);
  });
});
