import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCsvHeader, parseCsvRow } from "../../src/server/sources/nvidia-smi-csv";
import { ReplaySource } from "../../src/server/sources/replay";
import { storableValue } from "../../src/server/sources/storable-readings";
import { METRIC_KEYS, type GpuSample, type MetricKey } from "../../src/telemetry/types";
import { TelemetryStore } from "../../src/server/storage/telemetry-store";
import { ManualSource } from "../helpers/manual-source";
import { silentLog, startPipeline } from "../helpers/pipeline";
import { waitFor } from "../helpers/server-process";
import { tempDir } from "../helpers/temp-dir";

const dir = tempDir();
const SLOT_MS = 600_000;
const everything = { from: 0, to: Number.MAX_SAFE_INTEGER };

const smiTime = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace("Z", "").replaceAll("-", "/");

/** An nvidia-smi CSV log (nounits) of two GPUs, one line per GPU per second, with `cell` in one place. */
function recording(file: string, ticks: number, bad: { tick: number; gpu: number; cell: string }) {
  const start = Date.UTC(2026, 10, 30, 12, 0, 0);
  const lines = ["index, uuid, name, timestamp, temperature.gpu, power.draw, clocks.gr, utilization.gpu, memory.used"];
  for (let tick = 0; tick < ticks; tick++) {
    for (let gpu = 0; gpu < 2; gpu++) {
      const power = tick === bad.tick && gpu === bad.gpu ? bad.cell : (70 + (tick % 50) / 4).toFixed(2);
      lines.push(
        `${gpu}, GPU-cafe000${gpu}, NVIDIA H200, ${smiTime(start + tick * 1000)}, ${40 + gpu}, ${power}, 1980, ${tick % 100}, 1024`,
      );
    }
  }
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

function sample(uuid: string, index: number, timestamp: number, values: Partial<Record<MetricKey, unknown>> = {}): GpuSample {
  const base = Object.fromEntries(METRIC_KEYS.map((key) => [key, 10])) as Record<MetricKey, number>;
  return { ...base, ...values, uuid, index, timestamp } as GpuSample;
}

describe("one reading storage cannot hold", () => {
  it("costs that value only: every GPU's recording goes on and the value is counted as missing", async () => {
    const file = path.join(dir, "huge-cell.csv");
    // 1300 seconds cross two 10-minute slots, so both GPUs seal chunks after the bad line.
    recording(file, 1300, { tick: 3, gpu: 0, cell: "99999999999999999999" });
    const source = new ReplaySource({ file, speed: "max", loop: false, intervalMs: 1000, log: silentLog });
    const pipeline = await startPipeline(source, path.join(dir, "huge-cell.db"));
    await waitFor(() => (pipeline.collector.finished ? true : undefined), 30_000, "the replay to finish");
    const status = pipeline.collector.status();
    const store = pipeline.storage.requireStore();
    const samples = store.readSamples(everything);
    const sealed = store.db.prepare(`SELECT gpuId, count(*) AS chunks FROM SampleChunk GROUP BY gpuId`).all();
    await pipeline.stop();

    expect(status.writeFailures).toBe(0);
    expect(status.stored).toBe(2600);
    expect(samples).toHaveLength(2600);
    expect(sealed).toHaveLength(2);
    expect(status.rejectedValues).toBe(1);
    expect(status.rejectedByField).toEqual([
      expect.objectContaining({ gpuUuid: "GPU-cafe0000", gpuIndex: 0, field: "powerDrawW", count: 1, lastValue: "100000000000000000000" }),
    ]);
    const gpu0 = samples.filter((s) => s.uuid === "GPU-cafe0000");
    expect(gpu0[3].powerDrawW).toBeNull();
    expect(gpu0[3].temperatureC).toBe(40);
    expect(gpu0[4].powerDrawW).toBe(71);
  });

  it("left unsealed by an older version, is moved aside at the next start instead of failing every seal", () => {
    const dbPath = path.join(dir, "reloaded.db");
    const first = TelemetryStore.open(dbPath).store;
    const t0 = Math.floor(Date.now() / SLOT_MS) * SLOT_MS - 2 * SLOT_MS;
    first.writeSamples([sample("GPU-a", 0, t0), sample("GPU-b", 1, t0)], () => undefined);
    first.close();
    // What an older version stored unchecked: a REAL beyond 2^53 and an INTEGER beyond 2^63's half.
    const raw = new Database(dbPath);
    const gpuA = raw.prepare(`SELECT id FROM Gpu WHERE uuid = 'GPU-a'`).pluck().get() as number;
    raw.prepare(`UPDATE RecentSample SET powerDrawW = 1e20 WHERE gpuId = ?`).run(gpuA);
    raw
      .prepare(`INSERT INTO RecentSample (gpuId, ts, temperatureC, clockEventReasons) VALUES (?, ?, 41, 9007199254740993)`)
      .run(gpuA, t0 + 1000);
    raw.close();

    const { store } = TelemetryStore.open(dbPath);
    expect(store.quarantinedRows()).toBe(2);
    // Rows of the next slot seal the first one, for both GPUs.
    store.writeSamples([sample("GPU-a", 0, t0 + SLOT_MS), sample("GPU-b", 1, t0 + SLOT_MS)], () => undefined);
    const chunks = store.db.prepare(`SELECT count(*) FROM SampleChunk`).pluck().get();
    const stored = store.readSamples(everything).filter((s) => s.uuid === "GPU-a");
    const reasons = store.db.prepare(`SELECT reason FROM QuarantinedRow ORDER BY id`).pluck().all();
    store.close();

    expect(chunks).toBe(2);
    expect(stored.map((s) => [s.timestamp, s.powerDrawW, s.clockEventReasons, s.temperatureC])).toEqual([
      [t0, null, 10, 10],
      [t0 + 1000, null, null, 41],
      [t0 + SLOT_MS, 10, 10, 10],
    ]);
    expect(reasons).toEqual([
      expect.stringContaining("powerDrawW = 100000000000000000000"),
      expect.stringContaining("clockEventReasons = 9007199254740993"),
    ]);
  });

  it("written straight to the store, keeps its sample (value missing) and the other GPUs' rows, and sets the original aside", () => {
    const { store } = TelemetryStore.open(path.join(dir, "direct.db"));
    const t0 = Math.floor(Date.now() / SLOT_MS) * SLOT_MS - 2 * SLOT_MS;
    store.writeSamples(
      [
        sample("GPU-a", 0, t0, { memoryUsedMib: Number.POSITIVE_INFINITY }),
        sample("GPU-b", 1, t0, { fanSpeedPct: -5 }),
        sample("GPU-a", 0, Number.NaN),
        sample("GPU-b", 1, t0 + 1000),
        sample("GPU-a", 0, t0 + SLOT_MS),
        sample("GPU-b", 1, t0 + SLOT_MS),
      ],
      () => undefined,
    );
    const stored = store.readSamples(everything);
    const quarantined = store.quarantinedRows();
    store.close();
    expect(stored.map((s) => [s.uuid, s.timestamp, s.memoryUsedMib, s.fanSpeedPct])).toEqual([
      ["GPU-a", t0, null, 10],
      ["GPU-b", t0, 10, null],
      ["GPU-b", t0 + 1000, 10, 10],
      ["GPU-a", t0 + SLOT_MS, 10, 10],
      ["GPU-b", t0 + SLOT_MS, 10, 10],
    ]);
    expect(quarantined).toBe(3);
  });
});

describe("GPU facts storage cannot hold", () => {
  it("are kept as missing, and a GPU without a usable index is not registered", () => {
    const dbPath = path.join(dir, "facts.db");
    const first = TelemetryStore.open(dbPath).store;
    const facts = { name: "x".repeat(5000), baseClockMhz: null, driverVersion: null };
    first.registerGpus([
      {
        ...facts,
        uuid: "GPU-odd",
        index: 2,
        memoryTotalMib: 2 ** 60,
        powerLimitW: Number.POSITIVE_INFINITY,
        maxGraphicsClockMhz: Number.NaN,
        maxMemoryClockMhz: -1,
      },
      { ...facts, uuid: "GPU-far", index: 1e20, memoryTotalMib: 1, powerLimitW: 1, maxGraphicsClockMhz: 1, maxMemoryClockMhz: 1 },
    ]);
    first.writeSamples([sample("GPU-far", 1e20, Date.now() - 1000)], () => undefined);
    first.close();
    const { store } = TelemetryStore.open(dbPath);
    const gpus = store.gpus();
    const quarantined = store.quarantinedRows();
    store.close();
    expect(gpus).toHaveLength(1);
    expect(gpus[0]).toMatchObject({
      uuid: "GPU-odd",
      index: 2,
      memoryTotalMib: null,
      powerLimitW: null,
      maxGraphicsClockMhz: null,
      maxMemoryClockMhz: null,
    });
    expect(gpus[0].name).toHaveLength(200);
    expect(quarantined).toBe(1);
  });
});

/** Anything a parser or a driver could hand over for one field. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer({ min: -300, max: 300_000 }),
  fc.double({ noDefaultInfinity: false, noNaN: false }),
  fc.constantFrom(99_999_999_999_999_999_999, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e300, -0, 0.004, 0.005, 123.456),
  fc.bigInt({ min: 0n, max: 2n ** 64n }),
  fc.string({ maxLength: 6 }),
);

const anyReading = fc.record(Object.fromEntries(METRIC_KEYS.map((key) => [key, anyValue])) as Record<MetricKey, fc.Arbitrary<unknown>>);

describe("arbitrary source values", () => {
  it("never stop the recording of any GPU, and every storable value comes back exactly", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(anyReading, { minLength: 3, maxLength: 3 }), { minLength: 2, maxLength: 6 }), async (ticks) => {
        const source = new ManualSource();
        const dbPath = path.join(dir, `property-${run++}.db`);
        const pipeline = await startPipeline(source, dbPath);
        // The last tick falls in the next slot, sealing the ones before it into a chunk.
        const t0 = Math.floor(Date.now() / SLOT_MS) * SLOT_MS - 2 * SLOT_MS;
        const times = ticks.map((_, i) => (i === ticks.length - 1 ? t0 + SLOT_MS : t0 + i * 1000));
        for (const [i, readings] of ticks.entries()) {
          await source.sink!.samples(
            readings.map((reading, gpu) => ({
              ...(reading as Record<MetricKey, number | null>),
              uuid: `GPU-p${gpu}`,
              index: gpu,
              timestamp: times[i],
            })),
          );
        }
        pipeline.collector.flush();
        const status = pipeline.collector.status();
        await pipeline.stop();
        const { store } = TelemetryStore.open(dbPath);
        const stored = store.readSamples(everything);
        const sealedRows = store.db.prepare(`SELECT coalesce(sum(rowCount), 0) FROM SampleChunk`).pluck().get();
        store.close();

        expect(status.writeFailures).toBe(0);
        expect(stored).toHaveLength(ticks.length * 3);
        expect(sealedRows).toBe((ticks.length - 1) * 3);
        let rejected = 0;
        for (const [i, readings] of ticks.entries()) {
          for (const [gpu, reading] of readings.entries()) {
            const row = stored.find((s) => s.uuid === `GPU-p${gpu}` && s.timestamp === times[i])!;
            for (const key of METRIC_KEYS) {
              const expected = storableValue(key, reading[key]);
              if (expected === undefined) rejected++;
              expect(row[key], `${key} = ${String(reading[key])}`).toBe(expected ?? null);
            }
          }
        }
        expect(status.rejectedValues).toBe(rejected);
      }),
      { numRuns: 25 },
    );
  });
});

/** What nvidia-smi, a damaged log or another tool could print in a numeric cell. */
const anyCell: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: -300, max: 300_000 }).map(String),
  fc.double({ noDefaultInfinity: false, noNaN: false }).map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((n) => `0x${n.toString(16).padStart(16, "0")}`),
  fc.constantFrom("[N/A]", "[Not Supported]", "99999999999999999999", "1e309", "-0", "P0", "P15", "P99", "12 W", ""),
  fc.stringMatching(/^[^,\n\r"]{0,8}$/),
);

const CSV_FIELDS = [
  "temperature.gpu",
  "temperature.memory",
  "fan.speed",
  "power.draw",
  "clocks.gr",
  "clocks.mem",
  "clocks_event_reasons.active",
  "utilization.gpu",
  "memory.used",
  "memory.total",
  "pstate",
];

describe("arbitrary nvidia-smi cells", () => {
  it("never stop the recording of any GPU: each line is stored or counted as unreadable, and its storable values come back exactly", async () => {
    const header = `index, uuid, timestamp, ${CSV_FIELDS.join(", ")}`;
    const columns = parseCsvHeader(header);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.array(fc.array(anyCell, { minLength: CSV_FIELDS.length, maxLength: CSV_FIELDS.length }), { minLength: 2, maxLength: 2 }),
          { minLength: 2, maxLength: 5 },
        ),
        async (ticks) => {
          const start = Date.UTC(2026, 10, 30, 12, 0, 0);
          const lines = ticks.flatMap((gpus, tick) =>
            gpus.map((cells, gpu) => `${gpu}, GPU-c${gpu}, ${smiTime(start + tick * 1000)}, ${cells.join(", ")}`),
          );
          const file = path.join(dir, `cells-${run++}.csv`);
          fs.writeFileSync(file, [header, ...lines].join("\n") + "\n");
          const source = new ReplaySource({ file, speed: "max", loop: false, intervalMs: 1000, log: silentLog });
          const pipeline = await startPipeline(source, path.join(dir, `cells-${run}.db`));
          await waitFor(() => (pipeline.collector.finished ? true : undefined), 30_000, "the replay to finish");
          const status = pipeline.collector.status();
          const stored = pipeline.storage.requireStore().readSamples(everything);
          await pipeline.stop();

          const parsed = lines.map((line) => parseCsvRow(columns, line));
          const readable = parsed.filter((row) => row.ok);
          expect(status.writeFailures).toBe(0);
          expect(status.source.badLines).toBe(lines.length - readable.length);
          expect(stored).toHaveLength(readable.length);
          for (const gpu of [0, 1]) {
            // Replay keeps each GPU's lines in order, one tick a second apart.
            const given = lines.flatMap((line, i) => (i % 2 === gpu && parsed[i].ok ? [{ line, result: parsed[i] }] : []));
            const kept = stored.filter((s) => s.uuid === `GPU-c${gpu}`);
            expect(kept).toHaveLength(given.length);
            for (const [n, { line, result }] of given.entries()) {
              if (!result.ok) continue;
              for (const key of METRIC_KEYS) {
                if (key in result.row.metrics)
                  expect(kept[n][key], `${key} of: ${line}`).toBe(storableValue(key, result.row.metrics[key]) ?? null);
              }
            }
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
