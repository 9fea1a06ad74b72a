import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { importRecording, type ImportResult } from "../../src/cli/import/import-recording";
import { parseSmiTimestamp } from "../../src/server/sources/nvidia-smi-csv";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { STEPPED_BACK_BAD_LINES, STEPPED_BACK_LATEST, writeSteppedBackRecording } from "../helpers/stepped-back-recording";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();

async function importInto(name: string, file: string, endingNow: boolean, now: number, readerThread?: URL) {
  const { store } = TelemetryStore.open(path.join(dir, `${name}.db`));
  try {
    const result = await importRecording({ file, store, intervalMs: 1000, endingNow, now, readerThread });
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

  it("reads on a thread of its own to the same samples, counts and unreadable lines", async () => {
    // The reader thread runs from the command line's bundle, as `nvidia-oc import` runs it.
    // @ts-expect-error: the build script has no type declarations
    const { ensureCliBundle } = (await import("../../scripts/build-cli.mjs")) as { ensureCliBundle: () => Promise<string> };
    const readerThread = pathToFileURL(path.join(path.dirname(await ensureCliBundle()), "import-reader.mjs"));
    const file = path.join(dir, "long.csv");
    const lines = ["index, uuid, name, timestamp, temperature.gpu, power.draw [W], fan.speed [%], pstate"];
    const start = Date.UTC(2026, 5, 1, 8);
    // Enough ticks for many pieces of the file, the store's batches and its chunks.
    for (let tick = 0; tick < 40_000; tick++) {
      const time = new Date(start + tick * 1000).toISOString().replace("T", " ").replace("Z", "").replaceAll("-", "/");
      for (const gpu of [0, 1]) {
        const stamp = tick % 997 === 5 && gpu === 1 ? "[N/A]" : time;
        const power = tick % 1201 === 7 ? "99999999999999999999 W" : `${(80 + (tick % 50) / 4).toFixed(2)} W`;
        lines.push(`${gpu}, GPU-${gpu}, NVIDIA H200, ${stamp}, ${30 + (tick % 20)}, ${power}, [N/A], P${gpu}`);
      }
      if (tick % 4999 === 3) lines.push("not, a, line");
      if (tick % 7001 === 11) lines.push(lines.at(-2)!);
    }
    // Line ends of both kinds, as logs copied between systems have.
    fs.writeFileSync(file, lines.map((line, i) => (i % 3 === 0 ? `${line}\r` : line)).join("\n") + "\n");
    // Ahead of the log in any zone its local times may be read in.
    const now = start + 3 * 86_400_000;
    const inThread = await importInto("in-thread", file, false, now);
    const threaded = await importInto("threaded", file, false, now, readerThread);
    // Rejected values carry the wall-clock time they were met at.
    const withoutWhen = ({ rejectedValues, ...rest }: ImportResult) => ({
      ...rest,
      rejectedValues: rejectedValues.map(({ lastAt: _at, ...value }) => value),
    });
    expect(withoutWhen(threaded.result)).toEqual(withoutWhen(inThread.result));
    expect(threaded.stored).toEqual(inThread.stored);
    expect(inThread.result.samples).toBe(80_000);
    expect(inThread.result.unreadableCount).toBe(9);
    expect(inThread.result.alreadyStored).toBe(6);
  });

  it("splits ticks of a log without uuids by index on its own thread as it does in this one", async () => {
    // @ts-expect-error: the build script has no type declarations
    const { ensureCliBundle } = (await import("../../scripts/build-cli.mjs")) as { ensureCliBundle: () => Promise<string> };
    const readerThread = pathToFileURL(path.join(path.dirname(await ensureCliBundle()), "import-reader.mjs"));
    const file = path.join(dir, "by-index.csv");
    // No timestamp either: each tick's time comes from its place, so a tick split elsewhere moves samples.
    const lines = ["index, temperature.gpu"];
    for (let tick = 0; tick < 3000; tick++) {
      for (const gpu of tick % 5 === 0 ? [0, 1, 2] : [0, 1]) lines.push(`${gpu}, ${30 + (tick % 40)}`);
    }
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const now = Date.UTC(2026, 5, 1, 8);
    const inThread = await importInto("by-index-in-thread", file, false, now);
    const threaded = await importInto("by-index-threaded", file, false, now, readerThread);
    expect(threaded.stored).toEqual(inThread.stored);
    expect(inThread.result.samples).toBe(3000 * 2 + 600);
    expect(new Set(inThread.stored.map((s) => s.timestamp)).size).toBe(3000);
  });
});
