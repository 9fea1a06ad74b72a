import http from "node:http";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectedStats,
  KNOWN_GPUS,
  newestFirst,
  startKnownReplay,
  TICKS,
  type KnownReplay,
  type KnownSample,
} from "./helpers/known-replay";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
let known: KnownReplay;

beforeAll(async () => {
  known = await startKnownReplay(dir);
});

afterAll(async () => {
  await known?.server.stop();
});

const get = (path: string, init?: RequestInit) => fetch(`${known.server.url}${path}`, init);
const json = async (path: string) => {
  const res = await get(path);
  expect(res.status, `${path}: ${res.status}`).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return res.json() as Promise<unknown>;
};
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const ofGpu = (gpu: number) => known.samples.filter((s) => s.gpuIndex === gpu);

const RECORD_KEYS = [
  "gpu_index",
  "gpu_uuid",
  "gpu_name",
  "timestamp",
  "temperature",
  "memory_temperature",
  "fan_speed",
  "power_draw",
  "power_limit",
  "core_clock",
  "sm_clock",
  "memory_clock",
  "video_clock",
  "base_clock",
  "max_core_clock",
  "max_memory_clock",
  "clock_event_reasons",
  "utilization",
  "memory_utilization",
  "memory_used",
  "memory_total",
  "pstate",
  "clock_event_reasons_decoded",
  "clock_event_reason_words",
];

const REASONS = [
  ["idle", 0x1, "idle"],
  ["applications_clocks_setting", 0x2, "app clocks"],
  ["sw_power_cap", 0x4, "SW power cap"],
  ["hw_slowdown", 0x8, "HW slowdown"],
  ["sync_boost", 0x10, "sync boost"],
  ["sw_thermal_slowdown", 0x20, "SW thermal"],
  ["hw_thermal_slowdown", 0x40, "HW thermal"],
  ["hw_power_brake_slowdown", 0x80, "power brake"],
  ["display_clock_setting", 0x100, "display clocks"],
] as const;

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** The REST record of a known sample, spelled out independently of the server's mapping. */
function record(s: KnownSample) {
  const mask = s.clockEventReasons!;
  const decoded: Record<string, boolean> = Object.fromEntries(REASONS.map(([name, bit]) => [name, (mask & bit) !== 0]));
  decoded.thermal = (mask & 0x60) !== 0;
  decoded.boost_active = mask === 0;
  return {
    gpu_index: s.gpuIndex,
    gpu_uuid: s.gpuUuid,
    gpu_name: s.gpuName,
    timestamp: iso(s.timestamp),
    temperature: s.temperatureC,
    memory_temperature: s.memoryTemperatureC,
    fan_speed: s.fanSpeedPct,
    power_draw: s.powerDrawW,
    power_limit: s.powerLimitW,
    core_clock: s.graphicsClockMhz,
    sm_clock: s.smClockMhz,
    memory_clock: s.memoryClockMhz,
    video_clock: s.videoClockMhz,
    base_clock: s.baseClockMhz,
    max_core_clock: s.maxGraphicsClockMhz,
    max_memory_clock: s.maxMemoryClockMhz,
    clock_event_reasons: mask,
    utilization: s.gpuUtilizationPct,
    memory_utilization: s.memoryUtilizationPct,
    memory_used: s.memoryUsedMib,
    memory_total: s.memoryTotalMib,
    pstate: s.pstate,
    clock_event_reasons_decoded: decoded,
    clock_event_reason_words: mask === 0 ? ["boost"] : REASONS.filter(([, bit]) => (mask & bit) !== 0).map(([, , word]) => word),
  };
}

describe("REST: GET /api/telemetry/history", () => {
  it("returns snake_case records with ISO timestamps, newest first", async () => {
    const all = (await json("/api/telemetry/history?hours=1&limit=10000")) as Array<Record<string, unknown>>;
    expect(all).toHaveLength(TICKS * 2);
    expect(Object.keys(all[0])).toEqual(RECORD_KEYS);
    expect(all).toEqual(newestFirst(known.samples).map(record));
    for (const r of all) expect(r.timestamp).toMatch(ISO);
    // The newest tick: GPU 0 power-capped, GPU 1 power-capped and thermally slowed; GPU 0 reports no fan.
    expect(all[0]).toMatchObject({
      gpu_index: 0,
      timestamp: iso(known.end),
      fan_speed: null,
      clock_event_reasons: 4,
      clock_event_reason_words: ["SW power cap"],
    });
    expect(all[1]).toMatchObject({ gpu_index: 1, clock_event_reasons: 0x44, clock_event_reason_words: ["SW power cap", "HW thermal"] });
    expect(all[1].clock_event_reasons_decoded).toMatchObject({
      sw_power_cap: true,
      hw_thermal_slowdown: true,
      thermal: true,
      boost_active: false,
      idle: false,
    });
  });

  it("defaults to the last 24 hours and 1000 records; filters one GPU; limits", async () => {
    expect(await json("/api/telemetry/history")).toEqual(newestFirst(known.samples).slice(0, 1000).map(record));
    expect(await json("/api/telemetry/history?gpu_index=1&limit=5")).toEqual(newestFirst(ofGpu(1)).slice(0, 5).map(record));
    expect(await json("/api/telemetry/history?gpu_index=9")).toEqual([]);
  });
});

describe("REST: GET /api/telemetry/stats/{gpu_index}", () => {
  it("returns exact statistics of each GPU", async () => {
    for (const gpu of [0, 1]) {
      const e = expectedStats(ofGpu(gpu));
      expect(await json(`/api/telemetry/stats/${gpu}?hours=1`)).toEqual({
        gpu_index: gpu,
        gpu_uuid: KNOWN_GPUS[gpu].uuid,
        hours: 1,
        record_count: TICKS,
        first_timestamp: iso(e.firstTimestamp),
        last_timestamp: iso(e.lastTimestamp),
        temperature: e.temperature,
        power_draw: e.powerDraw,
        utilization_avg: e.utilizationAvg,
        core_clock_avg: e.graphicsClockAvg,
        memory_clock_avg: e.memoryClockAvg,
        clock_reasons: Object.fromEntries(Object.entries(e.clockReasons).map(([reason, share]) => [snakeCase(reason), share])),
      });
    }
    expect(await json("/api/telemetry/stats/1")).toMatchObject({ hours: 24, record_count: TICKS, temperature: { min: 56, max: 70 } });
  });

  it("answers a GPU without data with a count of 0 and nulls", async () => {
    expect(await json("/api/telemetry/stats/7?hours=2")).toEqual({
      gpu_index: 7,
      gpu_uuid: null,
      hours: 2,
      record_count: 0,
      first_timestamp: null,
      last_timestamp: null,
      temperature: { min: null, max: null, avg: null },
      power_draw: { min: null, max: null, avg: null },
      utilization_avg: null,
      core_clock_avg: null,
      memory_clock_avg: null,
      clock_reasons: Object.fromEntries(REASONS.map(([name]) => [name, null])),
    });
  });
});

describe("REST: GET /api/telemetry/database/stats", () => {
  it("returns the total, per-GPU counts, oldest and newest", async () => {
    const oldest = iso(known.end - (TICKS - 1) * 1000);
    const stats = (await json("/api/telemetry/database/stats")) as Record<string, unknown>;
    expect(stats).toMatchObject({
      total_records: TICKS * 2,
      per_gpu: [
        { gpu_index: 0, gpu_name: "NVIDIA H200", records: TICKS, oldest, newest: iso(known.end) },
        { gpu_index: 1, gpu_name: "NVIDIA GeForce RTX 4090", records: TICKS, oldest, newest: iso(known.end) },
      ],
      oldest,
      newest: iso(known.end),
      max_bytes: 500 * 1024 * 1024,
      retention_days: 90,
      last_prune: null,
    });
    expect(stats.file_bytes).toBeGreaterThan(0);
  });
});

describe("REST: GET /api/telemetry/export", () => {
  const CSV_HEADER = RECORD_KEYS.filter((k) => k !== "clock_event_reasons_decoded").join(",");
  const oldestFirst = (samples: KnownSample[]) => [...samples].sort((a, b) => a.timestamp - b.timestamp || a.gpuIndex - b.gpuIndex);
  const csvRow = (s: KnownSample) => {
    const { clock_event_reasons_decoded: _decoded, ...columns } = record(s);
    return Object.values(columns)
      .map((value) => (value === null ? "" : Array.isArray(value) ? value.join("; ") : String(value)))
      .join(",");
  };

  it("streams every stored sample as CSV, oldest first, as a download", async () => {
    const res = await get("/api/telemetry/export?format=csv&hours=1");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="nvidia-oc-all-1h-\d{4}-\d\d-\d\d\.csv"$/);
    const lines = (await res.text()).split("\r\n");
    expect(lines.pop()).toBe("");
    expect(lines[0]).toBe(CSV_HEADER);
    const stored = ((await json("/api/telemetry/database/stats")) as { total_records: number }).total_records;
    expect(lines.length - 1).toBe(stored);
    expect(lines.slice(1)).toEqual(oldestFirst(known.samples).map(csvRow));
  });

  it("defaults to CSV of the last 24 hours", async () => {
    const res = await get("/api/telemetry/export");
    expect(res.headers.get("content-disposition")).toMatch(/filename="nvidia-oc-all-24h-\d{4}-\d\d-\d\d\.csv"/);
    expect((await res.text()).split("\r\n")).toHaveLength(TICKS * 2 + 2);
  });

  it("streams one GPU as a JSON array of the history records", async () => {
    const res = await get("/api/telemetry/export?format=json&gpu_index=1&hours=2");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="nvidia-oc-gpu1-2h-\d{4}-\d\d-\d\d\.json"$/);
    expect(await res.json()).toEqual(oldestFirst(ofGpu(1)).map(record));

    const none = await get("/api/telemetry/export?format=json&gpu_index=3");
    expect(await none.json()).toEqual([]);
    const header = await (await get("/api/telemetry/export?format=csv&gpu_index=3")).text();
    expect(header).toBe(`${CSV_HEADER}\r\n`);
  });
});

describe("REST errors", () => {
  const BAD: Array<[path: string, field: string, message: string]> = [
    ["/api/telemetry/history?gpu_index=abc", "gpu_index", "must be a number"],
    ["/api/telemetry/history?gpu_index=1.5", "gpu_index", "must be a whole number"],
    ["/api/telemetry/history?gpu_index=-1", "gpu_index", "must be 0 or more"],
    ["/api/telemetry/history?gpu_index=2000", "gpu_index", "must be at most 1023"],
    ["/api/telemetry/history?gpu_index=", "gpu_index", "must be a number"],
    ["/api/telemetry/history?hours=1e999", "hours", "must be a number"],
    ["/api/telemetry/history?hours=Infinity", "hours", "must be a number"],
    ["/api/telemetry/history?hours=%201", "hours", "must be a number"],
    ["/api/telemetry/history?hours=", "hours", "must be a number"],
    ["/api/telemetry/history?hours=0", "hours", "must be at least 1"],
    ["/api/telemetry/history?hours=2161", "hours", "must be at most 2160"],
    [`/api/telemetry/history?hours=1${"0".repeat(400)}`, "hours", "must be a finite number"],
    ["/api/telemetry/history?limit=0x10", "limit", "must be a number"],
    ["/api/telemetry/history?limit=0", "limit", "must be at least 1"],
    ["/api/telemetry/history?limit=10001", "limit", "must be at most 10000"],
    ["/api/telemetry/history?gpu_index=0&gpu_index=1", "gpu_index", "must be given once"],
    ["/api/telemetry/history?gpu_index[]=0&gpu_index[]=1", "gpu_index", "must be a single value, not a list"],
    ["/api/telemetry/history?gpuIndex=0", "gpuIndex", "is not a parameter of this path (it takes gpu_index, gpu_uuid, hours, limit)"],
    ["/api/telemetry/history?%zz&&=", "%zz", "is not a parameter of this path (it takes gpu_index, gpu_uuid, hours, limit)"],
    ["/api/telemetry/stats/abc", "gpu_index", "must be a number"],
    ["/api/telemetry/stats/1.5", "gpu_index", "must be a whole number"],
    ["/api/telemetry/stats/-3", "gpu_index", "must be 0 or more"],
    ["/api/telemetry/stats/%zz", "gpu_index", "must be a number"],
    ["/api/telemetry/stats", "gpu_index", "is required (GET /api/telemetry/stats/{gpu_index}, or /api/telemetry/stats?gpu_uuid=...)"],
    ["/api/telemetry/stats/0?hours=-1", "hours", "must be at least 1"],
    ["/api/telemetry/stats/0?limit=5", "limit", "is not a parameter of this path (it takes gpu_uuid, hours)"],
    ["/api/telemetry/export?format=xml", "format", "must be csv or json"],
    ["/api/telemetry/export?format=", "format", "must be csv or json"],
    ["/api/telemetry/export?format=csv&format=json", "format", "must be given once"],
    ["/api/telemetry/export?hours=99999", "hours", "must be at most 2160"],
    ["/api/telemetry/export?gpu_index=x", "gpu_index", "must be a number"],
    ["/api/telemetry/database/stats?verbose=1", "verbose", "is not a parameter of this path (it takes none)"],
  ];

  it.each(BAD)("GET %s is 400 naming %s", async (path, field, message) => {
    const res = await get(path);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const body = (await res.json()) as { error: { code: string; message: string; fields: Record<string, string[]> } };
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(body.error.fields[field]).toEqual([message]);
    expect(body.error.message).toContain(`${field}: ${message}`);
    expect(JSON.stringify(body)).not.toMatch(/\.ts:\d+|node_modules|stack/i);
  });

  it("refuses what is not a number first, then names every range problem at once", async () => {
    const body = (await (await get("/api/telemetry/history?gpu_index=abc&hours=0&limit=20000")).json()) as {
      error: { message: string; fields: object };
    };
    expect(Object.keys(body.error.fields)).toEqual(["gpu_index"]);
    const ranges = (await (await get("/api/telemetry/history?hours=0&limit=20000")).json()) as { error: { message: string } };
    expect(ranges.error.message).toBe("hours: must be at least 1; limit: must be at most 10000");
  });

  it("answers unknown paths with 404 JSON", async () => {
    for (const path of ["/api/telemetry", "/api/telemetry/nope", "/api/telemetry/stats/0/extra", "/api/telemetry/database"]) {
      const res = await get(path);
      expect(res.status, path).toBe(404);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("NOT_FOUND");
      expect(body.error.message).toContain(path);
    }
  });

  it("answers other methods with 405 and Allow: GET", async () => {
    for (const [method, path] of [
      ["POST", "/api/telemetry/history"],
      ["DELETE", "/api/telemetry/database/stats"],
      ["PUT", "/api/telemetry/export"],
    ]) {
      const res = await get(path, { method, body: method === "DELETE" ? undefined : "{}" });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("allow")).toBe("GET");
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("METHOD_NOT_ALLOWED");
    }
  });

  it("tells plain HTTP requests to the stream to upgrade", async () => {
    const res = await get("/api/telemetry/stream?interval=1");
    expect(res.status).toBe(426);
    expect(res.headers.get("upgrade")).toBe("websocket");
  });
});

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A request whose body comes back exactly as sent, still compressed, unlike fetch's. */
function raw(path: string, headers: http.OutgoingHttpHeaders): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    http
      .get(`${known.server.url}${path}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on("error", reject);
  });
}

const HISTORY = "/api/telemetry/history?hours=1&limit=10000";

describe("compressed answers", () => {
  it("gzip or brotli when the client asks, decoding to the very bytes of the plain answer", async () => {
    const plain = await raw(HISTORY, {});
    expect(plain.status).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(JSON.parse(plain.body.toString())).toHaveLength(TICKS * 2);

    const gzip = await raw(HISTORY, { "accept-encoding": "gzip, deflate" });
    expect(gzip.headers["content-encoding"]).toBe("gzip");
    expect(gzip.headers.vary).toMatch(/accept-encoding/i);
    expect(zlib.gunzipSync(gzip.body).equals(plain.body)).toBe(true);
    // Records repeat their keys: the compressed answer is a small fraction of the plain one.
    expect(gzip.body.length).toBeLessThan(plain.body.length / 10);

    const brotli = await raw(HISTORY, { "accept-encoding": "br, gzip" });
    expect(brotli.headers["content-encoding"]).toBe("br");
    expect(zlib.brotliDecompressSync(brotli.body).equals(plain.body)).toBe(true);

    const refused = await raw(HISTORY, { "accept-encoding": "gzip;q=0, identity" });
    expect(refused.headers["content-encoding"]).toBeUndefined();
    expect(refused.body.equals(plain.body)).toBe(true);
  });

  it("covers tRPC answers and /metrics too", async () => {
    const input = encodeURIComponent(JSON.stringify({ hours: 1, limit: 10_000 }));
    const trpc = await raw(`/api/trpc/telemetry.history?input=${input}`, { "accept-encoding": "gzip" });
    expect(trpc.status).toBe(200);
    expect(trpc.headers["content-encoding"]).toBe("gzip");
    expect((JSON.parse(zlib.gunzipSync(trpc.body).toString()) as { result: { data: unknown[] } }).result.data).toHaveLength(TICKS * 2);

    const metrics = await raw("/metrics", { "accept-encoding": "gzip" });
    expect(metrics.headers["content-encoding"]).toBe("gzip");
    expect(zlib.gunzipSync(metrics.body).toString()).toMatch(/^DCGM_FI_DEV_GPU_TEMP\{/m);
  });

  it("leaves the live event stream uncompressed, so each event leaves at once", async () => {
    const first = await new Promise<{ headers: http.IncomingHttpHeaders; chunk: string }>((resolve, reject) => {
      const req = http.get(
        `${known.server.url}/api/trpc/telemetry.live`,
        { headers: { accept: "text/event-stream", "accept-encoding": "gzip, br" } },
        (res) => {
          res.once("data", (chunk: Buffer) => {
            resolve({ headers: res.headers, chunk: chunk.toString() });
            req.destroy();
          });
        },
      );
      req.on("error", reject);
    });
    expect(first.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(first.headers["content-encoding"]).toBeUndefined();
    expect(first.chunk).toMatch(/^(event|data|id|:|retry)/m);
  });
});
