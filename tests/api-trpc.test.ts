import { spawn } from "node:child_process";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelemetryClient, type TelemetryClient } from "../src/client/telemetry-client";
import type { Snapshot } from "../src/server/collector/collector";
import { simulatedGpuInfo } from "../src/server/sources/simulated";
import {
  expectedStats,
  KNOWN_GPUS,
  metricsOf,
  minMaxAvg,
  newestFirst,
  startKnownReplay,
  TICKS,
  type KnownReplay,
} from "./helpers/known-replay";
import { ROOT, startServerProcess, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";
import { reviveColumns } from "../src/telemetry/wire-columns";

const dir = tempDir();
let known: KnownReplay;
let live: ServerProcess;
let client: TelemetryClient;
let liveClient: TelemetryClient;

beforeAll(async () => {
  [known, live] = await Promise.all([
    startKnownReplay(dir),
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "2", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: path.join(dir, "live.db") }),
  ]);
  client = createTelemetryClient(known.server.url);
  liveClient = createTelemetryClient(live.url);
});

afterAll(async () => {
  await Promise.all([known?.server.stop(), live?.stop()]);
});

const HOUR = 3_600_000;
const asRecords = (samples: KnownReplay["samples"]) =>
  samples.map((s) => ({ gpuIndex: s.gpuIndex, gpuUuid: s.gpuUuid, gpuName: s.gpuName, timestamp: s.timestamp, ...metricsOf(s) }));
const ofGpu = (gpu: number) => known.samples.filter((s) => s.gpuIndex === gpu);

describe("tRPC over HTTP, on a known recording", () => {
  it("telemetry.history: newest first, every field, all GPUs or one, up to the limit", async () => {
    const all = await client.telemetry.history.query({ hours: 1, limit: 10_000 });
    expect(all).toHaveLength(TICKS * 2);
    expect(all).toEqual(asRecords(newestFirst(known.samples)));

    // Defaults: the last 24 hours, 1000 records.
    const byDefault = await client.telemetry.history.query({});
    expect(byDefault).toEqual(all.slice(0, 1000));

    const three = await client.telemetry.history.query({ hours: 1, limit: 3 });
    expect(three.map((r) => [r.gpuIndex, r.timestamp])).toEqual([
      [0, known.end],
      [1, known.end],
      [0, known.end - 1000],
    ]);

    const gpu1 = await client.telemetry.history.query({ gpuIndex: 1, hours: 1, limit: 5 });
    expect(gpu1).toEqual(asRecords(newestFirst(ofGpu(1)).slice(0, 5)));
    expect(gpu1[0]).toMatchObject({ gpuName: "NVIDIA GeForce RTX 4090", fanSpeedPct: 39, memoryTemperatureC: 84, pstate: 2 });
    // What the card did not report stays null, never 0.
    const gpu0 = await client.telemetry.history.query({ gpuIndex: 0, hours: 1, limit: 1 });
    expect(gpu0[0]).toMatchObject({ fanSpeedPct: null, memoryTemperatureC: null, clockEventReasons: 0x4 });

    expect(await client.telemetry.history.query({ gpuIndex: 5, hours: 1 })).toEqual([]);
  });

  it("telemetry.stats: exact count, min, max and mean of each GPU", async () => {
    for (const gpu of [0, 1]) {
      const stats = await client.telemetry.stats.query({ gpuIndex: gpu, hours: 1 });
      expect(stats).toEqual({ gpuIndex: gpu, gpuUuid: KNOWN_GPUS[gpu].uuid, hours: 1, ...expectedStats(ofGpu(gpu)) });
    }
    expect(await client.telemetry.stats.query({ gpuIndex: 0 })).toMatchObject({ hours: 24, recordCount: TICKS });
    expect(expectedStats(ofGpu(0))).toMatchObject({
      temperature: { min: 40, max: 49, avg: 44.5 },
      powerDraw: { min: 100.25, max: 187.75 },
    });
  });

  it("telemetry.stats: a GPU without data has a count of 0 and nulls", async () => {
    expect(await client.telemetry.stats.query({ gpuIndex: 7, hours: 1 })).toEqual({
      gpuIndex: 7,
      gpuUuid: null,
      hours: 1,
      recordCount: 0,
      firstTimestamp: null,
      lastTimestamp: null,
      temperature: { min: null, max: null, avg: null },
      powerDraw: { min: null, max: null, avg: null },
      utilizationAvg: null,
      graphicsClockAvg: null,
      memoryClockAvg: null,
      clockReasons: Object.fromEntries(Object.keys(expectedStats([]).clockReasons).map((reason) => [reason, null])),
    });
  });

  it("telemetry.series: epoch-aligned buckets with exact min/max/avg, never more than maxPoints", async () => {
    const from = known.end - (TICKS - 1) * 1000;
    const to = from + 650_000;
    // 650 s over at most 14 points: 50-second buckets.
    const series = await client.telemetry.series.query({ gpuIndex: 0, from, to, metrics: ["temperatureC", "powerDrawW"], maxPoints: 14 });
    expect(series.bucketMs).toBe(50_000);
    const buckets = new Map<number, KnownReplay["samples"]>();
    for (const s of ofGpu(0)) {
      const start = Math.floor(s.timestamp / 50_000) * 50_000;
      buckets.set(start, [...(buckets.get(start) ?? []), s]);
    }
    const starts = [...buckets.keys()].sort((a, b) => a - b);
    expect(series.t).toEqual(starts);
    expect(series.t.length).toBeLessThanOrEqual(14);
    expect(series.count).toEqual(starts.map((t) => buckets.get(t)!.length));
    for (const [metric, decimals] of [
      ["temperatureC", 0],
      ["powerDrawW", 2],
    ] as const) {
      const expected = starts.map((t) =>
        minMaxAvg(
          buckets.get(t)!.map((s) => s[metric]),
          decimals,
        ),
      );
      expect(series.metrics[metric]).toEqual({
        min: expected.map((e) => e.min),
        max: expected.map((e) => e.max),
        avg: expected.map((e) => e.avg),
      });
    }
    expect(Object.keys(series.metrics)).toEqual(["temperatureC", "powerDrawW"]);
    expect(series.clockReasons).toBeUndefined();

    // Each clock event reason's share of each bucket's samples, when asked.
    const withReasons = await client.telemetry.series.query({
      gpuIndex: 0,
      from,
      to,
      metrics: ["powerDrawW"],
      maxPoints: 14,
      clockReasons: true,
    });
    const shares = starts.map((t) => expectedStats(buckets.get(t)!).clockReasons);
    expect(withReasons.clockReasons).toEqual(
      Object.fromEntries(Object.keys(shares[0]).map((reason) => [reason, shares.map((share) => share[reason])])),
    );
    expect(withReasons.clockReasons!.swPowerCap.some((share) => share !== null && share > 0 && share < 1)).toBe(true);

    for (const maxPoints of [1, 2, 5, 500]) {
      const s = await client.telemetry.series.query({
        gpuIndex: 1,
        from: known.end - 2 * HOUR,
        to: known.end + 1,
        metrics: ["gpuUtilizationPct"],
        maxPoints,
      });
      expect(s.t.length, `maxPoints ${maxPoints}`).toBeLessThanOrEqual(maxPoints);
      expect(
        s.count.reduce((a, b) => a + b, 0),
        `maxPoints ${maxPoints}`,
      ).toBe(TICKS);
    }
  });

  it("telemetry.series travels as integers: scaled values and bucket starts in steps, read back as the same numbers", async () => {
    const input = {
      gpuIndex: 0,
      from: known.end - (TICKS - 1) * 1000,
      to: known.end,
      metrics: ["temperatureC", "powerDrawW"],
      maxPoints: 14,
    };
    const raw = await fetch(
      `${known.server.url}/api/trpc/telemetry.series?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: input }))}`,
    );
    const body = await raw.text();
    const [{ result }] = JSON.parse(body) as Array<{
      result: { data: { t: unknown; bucketMs: number; metrics: Record<string, unknown> } };
    }>;
    const typed = await client.telemetry.series.query(input as Parameters<typeof client.telemetry.series.query>[0]);
    // Whole degrees are integers already; watts (two decimals) and every average are scaled by 100.
    expect(result.data.metrics.temperatureC).toMatchObject({ min: typed.metrics.temperatureC!.min, avg: { $decimals: 2 } });
    expect(result.data.metrics.powerDrawW).toEqual({
      min: { $decimals: 2, scaled: typed.metrics.powerDrawW!.min.map((w) => Math.round(w! * 100)) },
      max: { $decimals: 2, scaled: typed.metrics.powerDrawW!.max.map((w) => Math.round(w! * 100)) },
      avg: { $decimals: 2, scaled: typed.metrics.powerDrawW!.avg.map((w) => Math.round(w! * 100)) },
    });
    expect(result.data.t).toEqual({
      $step: typed.bucketMs,
      first: typed.t[0],
      steps: typed.t.slice(1).map((t, i) => (t - typed.t[i]) / typed.bucketMs),
    });
    expect(body).not.toMatch(/\d\.\d/);
    // Any client reading the raw answer with the API's transformer gets what the typed client got.
    expect(reviveColumns(JSON.parse(body))).toEqual([{ result: { data: typed } }]);
  });

  it("telemetry.seriesOfGpus: each GPU's series as telemetry.series answers it, in the order asked, in one call", async () => {
    const window = {
      from: known.end - (TICKS - 1) * 1000,
      to: known.end,
      metrics: ["temperatureC", "powerDrawW"] as const,
      maxPoints: 14,
      clockReasons: true,
    };
    const unseen = "GPU-00000000-0000-4000-8000-0000000000ff";
    const selections = [{ gpuIndex: 1 }, { gpuUuid: KNOWN_GPUS[0].uuid }, { gpuUuid: unseen }];
    const many = await client.telemetry.seriesOfGpus.query({ ...window, metrics: [...window.metrics], gpus: selections });
    const one = await Promise.all(
      selections.map((gpu) => client.telemetry.series.query({ ...window, metrics: [...window.metrics], ...gpu })),
    );
    expect(many).toEqual({ from: window.from, to: window.to, gpus: one });
    expect(many.gpus.map((g) => [g.gpuIndex, g.gpuUuid, g.t.length > 0])).toEqual([
      [1, KNOWN_GPUS[1].uuid, true],
      [0, KNOWN_GPUS[0].uuid, true],
      [null, unseen, false],
    ]);

    // Each GPU of the list is checked as a series call's GPU is, and a refusal says which one.
    const refusal = async (gpus: unknown[]) => {
      const failure = await client.telemetry.seriesOfGpus
        .query({ ...window, metrics: [...window.metrics], gpus } as Parameters<typeof client.telemetry.seriesOfGpus.query>[0])
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(TRPCClientError);
      expect((failure as TRPCClientError<never>).data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
      return (failure as Error).message;
    };
    expect(await refusal([])).toBe("gpus: must name at least one GPU");
    expect(await refusal([{ gpuIndex: 0 }, {}])).toBe("gpus.1.gpuIndex: is required (or gpuUuid)");
    expect(await refusal([{ gpuIndex: 0 }, { gpuIndex: 1, gpuUuid: KNOWN_GPUS[0].uuid }])).toBe(
      `gpus.1.gpuIndex: names another GPU than the UUID given (the GPU at this index now is ${KNOWN_GPUS[1].uuid}); gpus.1.gpuUuid: is not the GPU at index 1 now`,
    );
    expect(await refusal(Array.from({ length: 65 }, () => ({ gpuIndex: 0 })))).toBe("gpus: must name at most 64 GPUs");
  });

  it("gpus.list: both GPUs with their facts", async () => {
    const gpus = await client.gpus.list.query();
    expect(gpus.map((g) => ({ index: g.index, uuid: g.uuid, name: g.name }))).toEqual(KNOWN_GPUS.map((g) => ({ ...g })));
    expect(gpus[0]).toMatchObject({
      memoryTotalMib: 143771,
      powerLimitW: 700,
      maxGraphicsClockMhz: 1980,
      maxMemoryClockMhz: 3201,
      baseClockMhz: 1980,
      online: true,
    });
    expect(gpus[1]).toMatchObject({ memoryTotalMib: 24564, powerLimitW: 450, maxGraphicsClockMhz: 3105, online: true });
    // Registered as the replay began, after the newest sample's time had been fixed.
    for (const g of gpus) expect(g.lastSeen).toBeGreaterThanOrEqual(known.end);
  });

  it("database.stats and database.prune: counts per GPU, oldest and newest", async () => {
    const oldest = known.end - (TICKS - 1) * 1000;
    const stats = await client.database.stats.query();
    expect(stats.totalRecords).toBe(TICKS * 2);
    expect(stats.perGpu).toEqual(
      KNOWN_GPUS.map((g) => ({ gpuIndex: g.index, gpuUuid: g.uuid, gpuName: g.name, records: TICKS, oldest, newest: known.end })),
    );
    expect(stats).toMatchObject({ oldest, newest: known.end, maxBytes: 500 * 1024 * 1024, retentionDays: 90 });
    expect(stats.fileBytes).toBeGreaterThan(0);

    // Nothing is past retention and the file is far under the cap: nothing goes, even forced.
    const pruned = await client.database.prune.mutate({ force: true });
    expect(pruned).toMatchObject({ reason: "forced", deletedChunks: 0, deletedSamples: 0 });
    expect(await client.database.prune.mutate()).toMatchObject({ reason: "retention", deletedChunks: 0, deletedSamples: 0 });
    const after = await client.database.stats.query();
    expect(after.totalRecords).toBe(TICKS * 2);
    expect(after.lastPrune).toMatchObject({ reason: "retention", deletedSamples: 0, error: null });
  });

  it("collector.status and health.status: the replay, every sample stored", async () => {
    const status = await client.collector.status.query();
    expect(status).toMatchObject({
      collected: TICKS * 2,
      stored: TICKS * 2,
      dropped: 0,
      pending: 0,
      writeFailures: 0,
      gpuCount: 2,
      lastSampleAt: known.end,
    });
    expect(status.source).toMatchObject({ kind: "replay", synthetic: true, running: false, badLines: 0 });

    const health = await client.health.status.query();
    expect(health).toMatchObject({ ok: true, synthetic: true, database: { available: true } });
    expect(health.latest.map((s) => [s.index, s.timestamp])).toEqual([
      [0, known.end],
      [1, known.end],
    ]);
  });

  it("refuses bad input with BAD_REQUEST naming the field", async () => {
    const failure = await client.telemetry.history.query({ hours: 0, limit: 20_000 }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TRPCClientError);
    const error = failure as TRPCClientError<never>;
    expect(error.data).toMatchObject({
      code: "BAD_REQUEST",
      httpStatus: 400,
      fieldErrors: { hours: ["must be at least 1"], limit: ["must be at most 10000"] },
    });
    expect(error.message).toBe("hours: must be at least 1; limit: must be at most 10000");
    expect(JSON.stringify(error.shape)).not.toMatch(/at .*\.ts:\d+/);
  });
});

type LiveEvent = { id: number; data: Snapshot };

/** Subscribes to telemetry.live and resolves with the first `count` events. */
function takeLive(
  input: { gpuIndex?: number; gpuUuid?: string; lastEventId?: string } | undefined,
  count: number,
  from = liveClient,
): Promise<LiveEvent[]> {
  return new Promise((resolve, reject) => {
    const events: LiveEvent[] = [];
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`only ${events.length} of ${count} live events arrived`));
    }, 20_000);
    const subscription = from.telemetry.live.subscribe(input, {
      onData({ id, data }) {
        events.push({ id: Number(id), data });
        if (events.length < count) return;
        clearTimeout(timer);
        subscription.unsubscribe();
        resolve(events);
      },
      onError(error) {
        clearTimeout(timer);
        subscription.unsubscribe();
        reject(error);
      },
    });
  });
}

const consecutive = (ids: number[]) => ids.every((id, i) => i === 0 || id === ids[i - 1] + 1);

describe("telemetry.live over server-sent events", () => {
  it("delivers every snapshot with increasing tracked ids", async () => {
    const events = await takeLive(undefined, 6);
    const ids = events.map((e) => e.id);
    expect(consecutive(ids), `ids ${ids.join(",")}`).toBe(true);
    for (const { data } of events) {
      expect(data.samples.map((s) => s.index)).toEqual([0, 1]);
      expect(data.timestamp).toBe(Math.max(...data.samples.map((s) => s.timestamp)));
    }
    const times = events.map((e) => e.data.timestamp);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("resumes after lastEventId without losing or repeating a snapshot", async () => {
    const first = await takeLive(undefined, 3);
    const lastSeen = first.at(-1)!.id;
    const collectedThen = (await liveClient.collector.status.query()).collected;
    // Let several snapshots go by while nobody listens (2 GPUs: 2 samples per snapshot).
    await waitFor(
      async () => ((await liveClient.collector.status.query()).collected >= collectedThen + 10 ? true : undefined),
      20_000,
      "snapshots while disconnected",
    );
    const resumed = await takeLive({ lastEventId: String(lastSeen) }, 8);
    const ids = resumed.map((e) => e.id);
    expect(ids[0]).toBe(lastSeen + 1);
    expect(consecutive(ids), `ids ${ids.join(",")}`).toBe(true);
  });

  it("gives a new subscriber the newest snapshot at once, even when no more are coming", async () => {
    // The known recording has ended: the only event there can be is the one already collected.
    const [event] = await takeLive(undefined, 1, client);
    const newest = Math.max(...known.samples.map((s) => s.timestamp));
    expect(event.data.timestamp).toBe(newest);
    expect(event.data.samples.map((s) => s.index)).toEqual([0, 1]);
  });

  it("filters by gpuIndex", async () => {
    const events = await takeLive({ gpuIndex: 1 }, 4);
    for (const { data } of events) expect(data.samples.map((s) => s.index)).toEqual([1]);
  });

  it("filters by gpuUuid, and refuses an index and a uuid of two GPUs naming both", async () => {
    const uuid = simulatedGpuInfo(1).uuid;
    const events = await takeLive({ gpuUuid: uuid }, 4);
    for (const { data } of events) expect(data.samples.map((s) => [s.index, s.uuid])).toEqual([[1, uuid]]);
    const refused = await takeLive({ gpuIndex: 0, gpuUuid: uuid }, 1).then(
      () => null,
      (error: Error) => error,
    );
    expect(refused?.message).toBe(
      `gpuIndex: names another GPU than the UUID given (the GPU at this index now is ${simulatedGpuInfo(0).uuid}); gpuUuid: is not the GPU at index 0 now`,
    );
  });
});

describe("examples/watch.ts", () => {
  it("prints statistics, then live samples, against a running server", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "examples", "watch.ts"), live.url, "3"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/^GPU 0 NVIDIA H200 \(simulated\): \d+ samples in the last hour, temperature/m);
    expect(output).toMatch(/^GPU 1 /m);
    expect(output.match(/^#\d+ \S+Z GPU [01]: /gm), output).toHaveLength(6);
  });
});

describe("the typed client's transfer", () => {
  /** The Content-Encoding of each answer Node's fetch gets while `run` goes on. */
  async function encodingsDuring(run: () => Promise<unknown>): Promise<Array<string | null>> {
    const seen: Array<string | null> = [];
    const original = globalThis.fetch;
    globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
      const response = await original(...args);
      seen.push(response.headers.get("content-encoding"));
      return response;
    };
    try {
      await run();
    } finally {
      globalThis.fetch = original;
    }
    return seen;
  }

  it("asks a server on this machine for no compression, which it gives a client that asks for it", async () => {
    const input = { hours: 1, limit: 1000 };
    const url = `${known.server.url}/api/trpc/telemetry.history?input=${encodeURIComponent(JSON.stringify(input))}`;
    // The same answer, asked as fetch asks by default: compressed.
    const compressed = await fetch(url);
    expect(compressed.headers.get("content-encoding")).toMatch(/^(br|gzip|deflate)$/);
    for (const base of [known.server.url, known.server.url.replace("127.0.0.1", "localhost")]) {
      let records = 0;
      const encodings = await encodingsDuring(async () => {
        records = (await createTelemetryClient(base).telemetry.history.query(input)).length;
      });
      expect(records).toBe(Math.min(1000, TICKS * 2));
      expect(encodings).toEqual([null]);
    }
  });
});
