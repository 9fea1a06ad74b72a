import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { importRecording } from "../../src/cli/import/import-recording";
import { parseSmiTimestamp } from "../../src/server/sources/nvidia-smi-csv";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { STEPPED_BACK_BAD_LINES, STEPPED_BACK_LATEST, writeSteppedBackRecording } from "../helpers/stepped-back-recording";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();

async function importInto(name: string, file: string, endingNow: boolean, now: number) {
  const { store } = TelemetryStore.open(path.join(dir, `${name}.db`));
  try {
    const result = await importRecording({ file, store, intervalMs: 1000, endingNow, now });
    const stored = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
    return { result, stored };
  } finally {
    store.close();
  }
}

describe("importing an nvidia-smi log", () => {
  it("counts each unreadable line once and, ending now, puts the latest recorded time at now when the clock stepped back", async () => {
    const now = Date.UTC(2026, 5, 1, 12);
    const { result, stored } = await importInto("stepped-back", writeSteppedBackRecording(dir), true, now);
    expect(result.unreadableCount).toBe(STEPPED_BACK_BAD_LINES);
    expect(result.samples).toBe(15);
    expect(result.last).toBe(now);
    expect(Math.max(...stored.map((s) => s.timestamp))).toBe(now);
    expect(stored.find((s) => s.temperatureC === 49)?.timestamp).toBe(now);
    expect(stored.find((s) => s.temperatureC === 54)?.timestamp).toBe(now - 295_000);
  });

  it("stores nothing after now: times as recorded that are ahead of this clock are skipped and counted", async () => {
    // The same log, read on a machine whose clock is 4 seconds behind its latest line.
    const now = parseSmiTimestamp(STEPPED_BACK_LATEST)! - 4000;
    const file = writeSteppedBackRecording(dir);
    const { result, stored } = await importInto("ahead", file, false, now);
    expect(Math.max(...stored.map((s) => s.timestamp))).toBe(now);
    expect(result.samples).toBe(11);
    expect(result.inTheFuture).toBe(4);
  });

  it("stores a value the database cannot hold exactly as missing and counts it per GPU and field, the sample kept", async () => {
    const file = path.join(dir, "huge-cell.csv");
    fs.writeFileSync(
      file,
      [
        "index, uuid, timestamp, temperature.gpu, power.draw",
        "0, GPU-a, 2026/06/01 11:00:00.000, 40, 99999999999999999999",
        "1, GPU-b, 2026/06/01 11:00:00.000, 41, -5",
        "0, GPU-a, 2026/06/01 11:00:01.000, 40, 123456789012345678901234",
        "1, GPU-b, 2026/06/01 11:00:01.000, 41, 70.5",
      ].join("\n") + "\n",
    );
    const { result, stored } = await importInto("huge-cell", file, false, Date.UTC(2026, 5, 1, 12));
    expect(result.samples).toBe(4);
    expect(result.unreadableCount).toBe(0);
    expect(result.rejectedValues.map(({ gpuIndex, gpuUuid, field, count }) => ({ gpuIndex, gpuUuid, field, count }))).toEqual([
      { gpuIndex: 0, gpuUuid: "GPU-a", field: "powerDrawW", count: 2 },
      { gpuIndex: 1, gpuUuid: "GPU-b", field: "powerDrawW", count: 1 },
    ]);
    expect(stored.map((s) => [s.uuid, s.temperatureC, s.powerDrawW])).toEqual([
      ["GPU-a", 40, null],
      ["GPU-b", 41, null],
      ["GPU-a", 40, null],
      ["GPU-b", 41, 70.5],
    ]);
  });
});
