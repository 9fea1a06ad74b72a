import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseCsvHeader, parseCsvRow, isNotAvailable, splitCsvLine } from "../../src/server/sources/nvidia-smi-csv";
import { ReplaySource } from "../../src/server/sources/replay";
import { fixturePath, fixtureLines } from "../helpers/fixtures";
import { silentLog, startPipeline } from "../helpers/pipeline";
import { STEPPED_BACK_BAD_LINES as BAD_LINES, writeSteppedBackRecording } from "../helpers/stepped-back-recording";
import { waitFor } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const PEERS = fs.readdirSync(fixturePath("peers")).filter((f) => f.endsWith(".csv"));

/** The H200's 1 Hz loop with the header of the one-shot query (same field order). */
function h200Recording(): string {
  const file = path.join(dir, "h200-1hz.csv");
  const header = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[0];
  fs.writeFileSync(file, [header, ...fixtureLines("nvidia-smi", "h200", "loop-1hz.csv")].join("\n") + "\n");
  return file;
}

async function replayToStore(file: string, speed: number | "max", name: string) {
  const source = new ReplaySource({ file, speed, loop: false, intervalMs: 1000, log: silentLog });
  const pipeline = await startPipeline(source, path.join(dir, `${name}.db`));
  await waitFor(() => (pipeline.collector.finished ? true : undefined), 30_000, "the replay to finish");
  const store = pipeline.storage.requireStore();
  const samples = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER });
  const status = pipeline.collector.status();
  await pipeline.stop();
  return { samples, status };
}

describe("replay source", () => {
  it.each(PEERS)("stores every line of %s, every reported value and NULL for N/A", async (file) => {
    const full = fixturePath("peers", file);
    const lines = fixtureLines("peers", file);
    const { samples, status } = await replayToStore(full, "max", file);
    expect(status.source.badLines).toBe(0);
    expect(samples).toHaveLength(lines.length - 1);

    // Each stored metric equals the parsed value, and is NULL exactly where the capture says N/A.
    const columns = parseCsvHeader(lines[0]);
    lines.slice(1).forEach((line, i) => {
      const parsed = parseCsvRow(columns, line);
      if (!parsed.ok) throw new Error(parsed.error);
      const cells = splitCsvLine(line);
      for (const [c, column] of columns.entries()) {
        const field = column.field;
        const key = field && "metricKey" in field ? field.metricKey : undefined;
        if (!key || (field && "isFallback" in field && field.isFallback)) continue;
        const stored = samples[i][key];
        if (isNotAvailable(cells[c])) expect(stored, `${column.name} on line ${i + 2}`).toBeNull();
        else expect(stored, `${column.name} on line ${i + 2}`).toBe(parsed.row.metrics[key]);
      }
    });
  });

  it("keeps the recorded values of the GeForce, H100 and MIG captures", async () => {
    const geforce = await replayToStore(
      fixturePath(
        "peers",
        PEERS.find((f) => f.includes("4080"))!,
      ),
      "max",
      "4080-values",
    );
    expect(geforce.samples[0]).toMatchObject({
      temperatureC: 43,
      memoryTemperatureC: null,
      fanSpeedPct: 0,
      powerDrawW: 26.2,
      pstate: 8,
      clockEventReasons: 1,
    });
    const mig = await replayToStore(
      fixturePath(
        "peers",
        PEERS.find((f) => f.includes("mig"))!,
      ),
      "max",
      "mig-values",
    );
    expect(mig.samples[1]).toMatchObject({ gpuUtilizationPct: null, memoryUtilizationPct: null, powerDrawW: 433.78, memoryUsedMib: 11125 });
  });

  it("at max speed writes all lines stamped with the recorded spacing, ending now", async () => {
    const file = h200Recording();
    const before = Date.now();
    const { samples } = await replayToStore(file, "max", "h200-max");
    const after = Date.now();
    expect(samples).toHaveLength(20);
    const last = samples[samples.length - 1].timestamp;
    expect(last).toBeGreaterThanOrEqual(before);
    expect(last).toBeLessThanOrEqual(after);
    // 02:27:37.389 -> 02:27:56.524 in the capture: the same 19135 ms between first and last.
    expect(last - samples[0].timestamp).toBe(19_135);
    expect(samples[0]).toMatchObject({
      temperatureC: 33,
      powerDrawW: 78.93,
      fanSpeedPct: null,
      graphicsClockMhz: 345,
      maxGraphicsClockMhz: 1980,
    });
  });

  it("at speed N emits at N times the recorded pace, stamped when emitted", async () => {
    const file = h200Recording();
    const { samples } = await replayToStore(file, 40, "h200-paced");
    expect(samples).toHaveLength(20);
    const span = samples[19].timestamp - samples[0].timestamp;
    // The recording spans 19.135 s; at 40x no tick may come earlier than its slot.
    expect(span).toBeGreaterThanOrEqual(Math.floor(19_135 / 40));
    expect(span).toBeLessThan(19_135);
  });

  it("at max speed counts each unreadable line once", async () => {
    const { samples, status } = await replayToStore(writeSteppedBackRecording(dir), "max", "bad-lines");
    expect(samples).toHaveLength(15);
    expect(status.source.badLines).toBe(BAD_LINES);
  });

  it("at max speed stamps the latest recorded time as now, not the last line's, when the clock stepped back", async () => {
    const before = Date.now();
    const { samples } = await replayToStore(writeSteppedBackRecording(dir), "max", "stepped-back");
    const after = Date.now();
    expect(samples).toHaveLength(15);
    const times = samples.map((s) => s.timestamp);
    const newest = Math.max(...times);
    expect(newest).toBeGreaterThanOrEqual(before);
    expect(newest).toBeLessThanOrEqual(after);
    // 10:00:09 is the latest recorded time; the ticks after the step back lie 5 minutes before their neighbours, as recorded.
    const byTemperature = new Map(samples.map((s) => [s.temperatureC, s.timestamp]));
    expect(byTemperature.get(49)).toBe(newest);
    expect(newest - byTemperature.get(40)!).toBe(9_000);
    expect(newest - byTemperature.get(54)!).toBe(295_000); // 09:55:14 to 10:00:09
  });

  it("counts unreadable lines once however often a looping replay reads the file", async () => {
    const source = new ReplaySource({ file: writeSteppedBackRecording(dir), speed: 1000, loop: true, intervalMs: 1000, log: silentLog });
    const pipeline = await startPipeline(source, path.join(dir, "loop-bad-lines.db"));
    await waitFor(() => (pipeline.collector.status().collected >= 3 * 15 ? true : undefined), 30_000, "three passes");
    await pipeline.stop();
    expect(source.status().badLines).toBe(BAD_LINES);
  });

  it("loops when asked to", async () => {
    const file = h200Recording();
    const source = new ReplaySource({ file, speed: "max", loop: true, intervalMs: 1000, log: silentLog });
    const pipeline = await startPipeline(source, path.join(dir, "loop.db"));
    await waitFor(() => (pipeline.collector.status().collected > 25 ? true : undefined), 30_000, "a second pass");
    await pipeline.stop();
    expect(source.status().running).toBe(false);
  });
});
