import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { AppRouter } from "../src/server/routers/_app";
import { simulatedGpuInfo } from "../src/server/sources/simulated";
import { ROOT, startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { RETIRED_GPU, RETIRED_TEMPERATURE_C, seedSwappedGpu, type SwappedGpuHistory } from "./helpers/swapped-gpu";
import { tempDir } from "./helpers/temp-dir";

/**
 * Two GPUs that both held index 0, in one database: a retired card, then the
 * simulated GPU 0 the running server reports. An index means the GPU there
 * now; a UUID means exactly that GPU.
 */

const dir = tempDir("nvoc-uuid-");
const HOUR = 3_600_000;
const CURRENT = simulatedGpuInfo(0).uuid;
let server: ServerProcess;
let seeded: SwappedGpuHistory;
let client: ReturnType<typeof trpcClient>;

beforeAll(async () => {
  const dbPath = path.join(dir, "swapped.db");
  seeded = seedSwappedGpu(dbPath);
  server = await startServerProcess({ NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "2", NVOC_INTERVAL_MS: "200", NVOC_DB_PATH: dbPath });
  client = trpcClient(server.url);
  // From the first stored reading on, index 0 is the simulated GPU by the collector's word, not only by lastSeen.
  await waitFor(async () => ((await client.collector.status.query()).stored > 0 ? true : undefined), 20_000, "a stored reading");
});

afterAll(async () => {
  await server?.stop();
});

interface Row {
  gpu_index: number;
  gpu_uuid: string;
  gpu_name: string;
  timestamp: string;
  temperature: number | null;
}

const get = (query: string) => fetch(`${server.url}${query}`);
async function json<T>(query: string): Promise<T> {
  const res = await get(query);
  expect(res.status, `${query}: ${await res.clone().text()}`).toBe(200);
  return (await res.json()) as T;
}
const uuidsOf = (rows: Array<{ gpu_uuid: string }>) => [...new Set(rows.map((r) => r.gpu_uuid))];
const retiredTimestamps = () => seeded.retired.map((s) => new Date(s.timestamp).toISOString());
const day = () => ({ from: Date.now() - 24 * HOUR, to: Date.now() });

async function fieldErrorsOf(call: Promise<unknown>): Promise<Record<string, string[]>> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const failure = error as TRPCClientError<AppRouter>;
  expect(failure.data?.code).toBe("BAD_REQUEST");
  return (failure.data as { fieldErrors?: Record<string, string[]> }).fieldErrors ?? {};
}

describe("a GPU asked for by index is the GPU at that index now", () => {
  it("history, stats, series and export by index hold only the current GPU's rows", async () => {
    const rest = await json<Row[]>("/api/telemetry/history?gpu_index=0&hours=24&limit=10000");
    expect(uuidsOf(rest)).toEqual([CURRENT]);
    expect(rest.length).toBeGreaterThanOrEqual(seeded.currentAtZero.length);

    const trpc = await client.telemetry.history.query({ gpuIndex: 0, hours: 24, limit: 10_000 });
    expect([...new Set(trpc.map((r) => r.gpuUuid))]).toEqual([CURRENT]);

    const stats = await client.telemetry.stats.query({ gpuIndex: 0, hours: 24 });
    expect(stats).toMatchObject({ gpuIndex: 0, gpuUuid: CURRENT });
    expect(stats.recordCount).toBeGreaterThanOrEqual(seeded.currentAtZero.length);
    expect(stats.temperature.max).toBeLessThan(RETIRED_TEMPERATURE_C);

    const series = await client.telemetry.series.query({ gpuIndex: 0, ...day(), metrics: ["temperatureC"], maxPoints: 200 });
    expect(series.gpuUuid).toBe(CURRENT);
    expect(Math.max(...series.metrics.temperatureC!.max.filter((v) => v !== null))).toBeLessThan(RETIRED_TEMPERATURE_C);

    const exported = await json<Row[]>("/api/telemetry/export?format=json&gpu_index=0&hours=24");
    expect(uuidsOf(exported)).toEqual([CURRENT]);
  });

  it("the other index is untouched, and an index no GPU has held is still an empty answer", async () => {
    expect(uuidsOf(await json<Row[]>("/api/telemetry/history?gpu_index=1&hours=24"))).toEqual([simulatedGpuInfo(1).uuid]);
    expect(await json<Row[]>("/api/telemetry/history?gpu_index=9")).toEqual([]);
  });
});

describe("a GPU asked for by UUID is exactly that GPU", () => {
  const retired = `gpu_uuid=${encodeURIComponent(RETIRED_GPU.uuid)}`;

  it("history by uuid gives every row of the retired GPU, named by its own name", async () => {
    const rest = await json<Row[]>(`/api/telemetry/history?${retired}&hours=24&limit=10000`);
    expect(rest.map((r) => r.timestamp).reverse()).toEqual(retiredTimestamps());
    for (const row of rest)
      expect(row).toMatchObject({
        gpu_index: 0,
        gpu_uuid: RETIRED_GPU.uuid,
        gpu_name: RETIRED_GPU.name,
        temperature: RETIRED_TEMPERATURE_C,
      });

    const trpc = await client.telemetry.history.query({ gpuUuid: RETIRED_GPU.uuid, hours: 24, limit: 10_000 });
    expect(trpc).toHaveLength(seeded.retired.length);
  });

  it("stats and series by uuid count exactly its samples", async () => {
    const stats = await client.telemetry.stats.query({ gpuUuid: RETIRED_GPU.uuid, hours: 24 });
    expect(stats).toMatchObject({
      gpuIndex: 0,
      gpuUuid: RETIRED_GPU.uuid,
      recordCount: seeded.retired.length,
      firstTimestamp: seeded.retired[0].timestamp,
      lastTimestamp: seeded.retired.at(-1)!.timestamp,
      temperature: { min: RETIRED_TEMPERATURE_C, max: RETIRED_TEMPERATURE_C },
    });
    expect(await json(`/api/telemetry/stats?${retired}&hours=24`)).toMatchObject({
      gpu_index: 0,
      gpu_uuid: RETIRED_GPU.uuid,
      record_count: seeded.retired.length,
    });

    const series = await client.telemetry.series.query({ gpuUuid: RETIRED_GPU.uuid, ...day(), metrics: ["temperatureC"], maxPoints: 200 });
    expect(series.count.reduce((a, b) => a + b, 0)).toBe(seeded.retired.length);
    expect(new Set(series.metrics.temperatureC!.max)).toEqual(new Set([RETIRED_TEMPERATURE_C]));
  });

  it("the export by uuid, CSV and JSON, holds exactly its rows, each with its uuid", async () => {
    const exported = await json<Row[]>(`/api/telemetry/export?format=json&${retired}&hours=24`);
    expect(exported.map((r) => r.timestamp)).toEqual(retiredTimestamps());
    expect(uuidsOf(exported)).toEqual([RETIRED_GPU.uuid]);

    const csv = await get(`/api/telemetry/export?format=csv&${retired}&hours=24`);
    expect(csv.headers.get("content-disposition")).toContain(`nvidia-oc-${RETIRED_GPU.uuid}-24h-`);
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines).toHaveLength(seeded.retired.length + 1);
    for (const line of lines.slice(1)) expect(line.split(",").slice(0, 3)).toEqual(["0", RETIRED_GPU.uuid, RETIRED_GPU.name]);
  });

  it("a uuid no GPU has is an empty answer, as an unknown index is", async () => {
    const nobody = "gpu_uuid=GPU-00000000-dead-4000-8000-000000000000";
    expect(await json<Row[]>(`/api/telemetry/history?${nobody}`)).toEqual([]);
    expect(await json(`/api/telemetry/stats?${nobody}`)).toMatchObject({
      gpu_index: null,
      gpu_uuid: "GPU-00000000-dead-4000-8000-000000000000",
      record_count: 0,
    });
    expect(await json<Row[]>(`/api/telemetry/export?format=json&${nobody}`)).toEqual([]);
    expect(await json(`/api/telemetry/processes?${nobody}`)).toMatchObject({ processes: [] });
  });

  it("the GPU list names both GPUs that held index 0, the retired one offline", async () => {
    const gpus = await client.gpus.list.query();
    expect(gpus.filter((g) => g.index === 0).map((g) => [g.uuid, g.name, g.online])).toEqual([
      [RETIRED_GPU.uuid, RETIRED_GPU.name, false],
      [CURRENT, simulatedGpuInfo(0).name, true],
    ]);
  });
});

describe("an index and a uuid that name different GPUs", () => {
  const both = `gpu_index=0&gpu_uuid=${encodeURIComponent(RETIRED_GPU.uuid)}`;

  it("are refused with a 400 naming both fields, in REST, the export, the stream and tRPC", async () => {
    for (const query of [
      `/api/telemetry/history?${both}`,
      `/api/telemetry/stats?${both}`,
      `/api/telemetry/export?${both}`,
      `/api/telemetry/processes?${both}`,
    ]) {
      const res = await get(query);
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error: { code: string; fields: Record<string, string[]> } };
      expect(body.error.code).toBe("BAD_REQUEST");
      expect(Object.keys(body.error.fields).sort(), query).toEqual(["gpu_index", "gpu_uuid"]);
      expect(body.error.fields.gpu_uuid).toEqual(["is not the GPU at index 0 now"]);
    }
    expect(await streamStatus(both)).toBe(400);
    const fields = await fieldErrorsOf(client.telemetry.stats.query({ gpuIndex: 0, gpuUuid: RETIRED_GPU.uuid }));
    expect(Object.keys(fields).sort()).toEqual(["gpuIndex", "gpuUuid"]);
  });

  it("that agree are answered as either alone", async () => {
    const rows = await json<Row[]>(`/api/telemetry/history?gpu_index=0&gpu_uuid=${CURRENT}&hours=24`);
    expect(uuidsOf(rows)).toEqual([CURRENT]);
  });

  it("a malformed uuid is refused naming the field", async () => {
    const res = await get("/api/telemetry/history?gpu_uuid=GPU%20with%20spaces");
    expect(res.status).toBe(400);
    expect(Object.keys(((await res.json()) as { error: { fields: object } }).error.fields)).toEqual(["gpu_uuid"]);
  });
});

/** The HTTP status a stream upgrade was refused with, or 101 when it was accepted. */
function streamStatus(query: string): Promise<number> {
  const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/telemetry/stream?${query}`);
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.once("open", () => {
      ws.terminate();
      resolve(101);
    });
    ws.once("unexpected-response", (request, response) => {
      resolve(response.statusCode ?? 0);
      request.destroy();
    });
  });
}

describe("the stream and the live subscription keep the GPU asked for", () => {
  it("the stream by uuid sends only that GPU's readings, each with its uuid", async () => {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/telemetry/stream?interval=0.2&gpu_uuid=${CURRENT}`);
    const message = await new Promise<{ gpus: Row[] }>((resolve, reject) => {
      ws.on("error", reject);
      ws.once("message", (data) => resolve(JSON.parse((data as Buffer).toString()) as { gpus: Row[] }));
    });
    ws.terminate();
    expect(message.gpus.map((g) => [g.gpu_index, g.gpu_uuid])).toEqual([[0, CURRENT]]);
  });
});

const run = promisify(execFile);
const cli = (args: string[]) =>
  run(process.execPath, [path.join(ROOT, "bin", "nvidia-oc.mjs"), ...args], {
    cwd: ROOT,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });

describe("the command line", () => {
  it("export --gpu-uuid writes exactly that GPU's rows; --gpu 0 the current GPU's", async () => {
    const [byUuid, byIndex] = await Promise.all([
      cli(["export", "--url", server.url, "--format", "json", "--hours", "24", "--gpu-uuid", RETIRED_GPU.uuid]),
      cli(["export", "--url", server.url, "--format", "json", "--hours", "24", "--gpu", "0"]),
    ]);
    expect((JSON.parse(byUuid.stdout) as Row[]).map((r) => r.timestamp)).toEqual(retiredTimestamps());
    expect(uuidsOf(JSON.parse(byIndex.stdout) as Row[])).toEqual([CURRENT]);
  });

  it("a malformed --gpu-uuid is refused naming the flag", async () => {
    const refused = await cli(["export", "--url", server.url, "--gpu-uuid", "not a uuid"]).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(refused?.code).toBe(2);
    expect(refused?.stderr).toMatch(/^nvidia-oc export: --gpu-uuid: must be a GPU UUID/m);
  });

  it("status prints each GPU's uuid and keeps one GPU with --gpu-uuid", async () => {
    const all = await cli(["status", "--url", server.url]);
    expect(all.stdout).toMatch(new RegExp(`^GPU 0 .*\\n\\s+${CURRENT}$`, "m"));
    const one = await cli(["status", "--url", server.url, "--gpu-uuid", simulatedGpuInfo(1).uuid]);
    expect(one.stdout).toMatch(/^GPU 1 /m);
    expect(one.stdout).not.toMatch(/^GPU 0 /m);
    const retired = await cli(["status", "--url", server.url, "--gpu-uuid", RETIRED_GPU.uuid]).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    );
    expect(retired?.code).toBe(1);
    expect(retired?.stderr).toContain(`reports no GPU ${RETIRED_GPU.uuid} now (it reports: 0 ${CURRENT}, 1 ${simulatedGpuInfo(1).uuid})`);
  });
});
