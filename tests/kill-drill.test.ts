/**
 * The fast variant of `npm run test:faults` (scripts/fault-drill.ts): three
 * SIGKILLs during heavy writes and one SIGTERM, on one database file.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { killRound, samplesPerFlush, termRound, type DrillLoad } from "../scripts/lib/fault-drill";
import { tempDir } from "./helpers/temp-dir";

const load: DrillLoad = { dbPath: path.join(tempDir("nvoc-kill-drill-"), "telemetry.db"), gpus: 32, intervalMs: 100 };

describe("the server killed during heavy writes, then stopped", () => {
  it("keeps the file sound and loses at most one flush interval per SIGKILL, and nothing on SIGTERM", async () => {
    // Early in a run, a little later, and further in: ticks stored before the signal.
    const kills = [5, 25, 12];
    let stored = 0;
    for (const [i, ticks] of kills.entries()) {
      const result = await killRound(load, i + 1, ticks);
      expect(result.integrity, `round ${i + 1}`).toBe("ok");
      expect(result.storedBefore).toBe(stored);
      expect(result.collected).toBeGreaterThanOrEqual(ticks * load.gpus);
      expect(result.lost).toBeLessThanOrEqual(samplesPerFlush(load));
      expect(result.problems).toEqual([]);
      stored = result.storedAfter;
    }

    const stop = await termRound(load, kills.length + 1, 10);
    expect(stop).toMatchObject({ signal: "SIGTERM", integrity: "ok", pending: 0, lost: 0, storedBefore: stored, problems: [] });
    expect(stop.storedAfter).toBe(stored + stop.collected);
  });
});
