import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelemetryClient } from "../src/client/telemetry-client";
import type { AppRouter } from "../src/server/routers/_app";
import { MAX_BATCH_CALLS } from "../src/telemetry/request-limits";
import { METRIC_KEYS } from "../src/telemetry/types";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
let server: ServerProcess;
/** A client that sends whatever batch it is given, as a client without maxItems does. */
let unsplit: ReturnType<typeof trpcClient>;

const HOUR = 3_600_000;
const SUMMARY_PERIOD_MS = 120_000;
const INTERVAL_MS = 100;

beforeAll(async () => {
  server = await startServerProcess({
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: "2",
    NVOC_INTERVAL_MS: String(INTERVAL_MS),
    NVOC_DB_PATH: path.join(dir, "limits.db"),
  });
  unsplit = trpcClient(server.url);
  // Enough stored records that every history call below has some to give.
  await waitFor(async () => ((await unsplit.telemetry.history.query({ hours: 1, limit: 20 })).length === 20 ? true : undefined));
});

afterAll(async () => {
  await server?.stop();
});

/** The rejection of each call, which must all have failed. */
async function rejections(calls: Array<Promise<unknown>>): Promise<Array<TRPCClientError<AppRouter>>> {
  const settled = await Promise.allSettled(calls);
  return settled.map((outcome) => {
    if (outcome.status === "fulfilled") throw new Error("a call that should have been refused was answered");
    expect(outcome.reason).toBeInstanceOf(TRPCClientError);
    return outcome.reason as TRPCClientError<AppRouter>;
  });
}

const batchUrl = (procedure: string, inputs: unknown[]) =>
  `${server.url}/api/trpc/${Array(inputs.length).fill(procedure).join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(Object.fromEntries(inputs.map((v, i) => [i, v]))))}`;

describe("the work one tRPC request may ask for", () => {
  it(`a batch of more than ${MAX_BATCH_CALLS} calls is refused (400) naming the limit, and the typed client reports it`, async () => {
    const errors = await rejections(Array.from({ length: MAX_BATCH_CALLS + 1 }, () => unsplit.health.status.query()));
    for (const error of errors) {
      expect(error.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
      expect(error.message).toBe(`a batch may hold at most ${MAX_BATCH_CALLS} calls (split it: httpBatchLink's maxItems)`);
    }
  });

  it("the 200-call history batch is refused before any work, in tRPC's error shape", async () => {
    const res = await fetch(
      batchUrl(
        "telemetry.history",
        Array.from({ length: 200 }, () => ({ hours: 1, limit: 10_000 })),
      ),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; data: { code: string; httpStatus: number } } };
    expect(body.error.message).toMatch(/^a batch may hold at most 16 calls/);
    expect(body.error.data).toMatchObject({ code: "BAD_REQUEST", httpStatus: 400 });
  });

  it("a batch asking for more than 10,000 history records in all is refused (413) naming the total and the limit", async () => {
    const errors = await rejections([6000, 5000].map((limit) => unsplit.telemetry.history.query({ hours: 1, limit })));
    for (const error of errors) {
      expect(error.data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
      expect(error.message).toBe(
        "this batch of 2 calls asks for 11,000 records; one request may ask for at most 10,000 (split it into requests within the limit)",
      );
    }
    // The same over plain HTTP: every call of the batch is answered with the refusal.
    const res = await fetch(
      batchUrl(
        "telemetry.history",
        Array.from({ length: 11 }, () => ({ hours: 1 })),
      ),
    );
    expect(res.status).toBe(413);
    const body = (await res.json()) as Array<{ error: { message: string; data: { code: string } } }>;
    expect(body).toHaveLength(11);
    expect(body[0].error.message).toMatch(/^this batch of 11 calls asks for 11,000 records; one request may ask for at most 10,000/);
  });

  it("a batch asking for more series values than one call may is refused (413)", async () => {
    const to = Date.now();
    const input = { gpuIndex: 0, from: to - HOUR, to, metrics: [...METRIC_KEYS], maxPoints: 5000, clockReasons: true };
    const errors = await rejections([unsplit.telemetry.series.query(input), unsplit.telemetry.series.query(input)]);
    expect(errors[0].data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    expect(errors[0].message).toMatch(
      /^this batch of 2 calls asks for 270,000 series values \(points × metrics and clock reasons, for each GPU\); one request may ask for at most 135,000/,
    );
  });

  it("refusals are counted per limit in /metrics and logged as warnings", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const count = (limit: string) =>
      Number(new RegExp(`^nvoc_api_requests_refused_total\\{limit="${limit}"\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
    // The tests above: two batches over the call limit, two over the records budget, one over the series values.
    expect(count("batch_calls")).toBe(2);
    expect(count("records")).toBe(2);
    expect(count("series_values")).toBe(1);
    const warning = await server.waitForLog((line) => line.msg.startsWith("refused a request over its limits"));
    expect(warning).toMatchObject({ level: 40, limit: "batch_calls", refused: 1 });
    expect(warning.msg).toMatch(/a batch may hold at most 16 calls/);
  });

  it("one seriesOfGpus call is counted for each GPU it names, and refused (413) past the limit", async () => {
    const to = Date.now();
    const window = { from: to - HOUR, to, metrics: ["temperatureC" as const], maxPoints: 5000 };
    // 27 GPUs × 5000 points: the most one request may ask for.
    const within = await unsplit.telemetry.seriesOfGpus.query({ ...window, gpus: Array.from({ length: 27 }, () => ({ gpuIndex: 0 })) });
    expect(within.gpus).toHaveLength(27);
    const [error] = await rejections([
      unsplit.telemetry.seriesOfGpus.query({ ...window, gpus: Array.from({ length: 28 }, () => ({ gpuIndex: 0 })) }),
    ]);
    expect(error.data).toMatchObject({ code: "PAYLOAD_TOO_LARGE", httpStatus: 413 });
    expect(error.message).toMatch(/^this request asks for 140,000 series values .*; one request may ask for at most 135,000/);
  });

  it("a batch within the limits is answered in full, and a failing call does not hold up the others", async () => {
    const calls = [
      ...Array.from({ length: 9 }, () => unsplit.telemetry.history.query({ hours: 1, limit: 1000 })),
      unsplit.telemetry.history.query({ hours: 1, limit: 1000, gpuIndex: 0 }),
      unsplit.telemetry.stats.query({ gpuIndex: 0, hours: 1 }),
      unsplit.telemetry.history.query({ hours: 0 }),
      unsplit.health.status.query(),
    ];
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual([...Array<string>(11).fill("fulfilled"), "rejected", "fulfilled"]);
    const [first] = settled;
    expect(first.status === "fulfilled" && (first.value as unknown[]).length).toBeGreaterThan(0);
  });

  it("the project's client splits a large batch to fit, so every call is answered", async () => {
    const client = createTelemetryClient(server.url);
    const answers = await Promise.all(
      Array.from({ length: 3 * MAX_BATCH_CALLS + 1 }, () => client.telemetry.history.query({ hours: 1, limit: 10 })),
    );
    expect(answers.every((records) => records.length === 10)).toBe(true);
  });

  it("a series over a range too long to decode sample by sample gets buckets of whole summary periods", async () => {
    // At 100 ms, 100,000 samples are 2.8 hours: four hours at 5000 points would be 2.9-second buckets.
    const to = Date.now();
    const series = await unsplit.telemetry.series.query({
      gpuIndex: 0,
      from: to - 4 * HOUR,
      to,
      metrics: ["temperatureC"],
      maxPoints: 5000,
    });
    expect(series.bucketMs % SUMMARY_PERIOD_MS).toBe(0);
    // A short range keeps its fine buckets.
    const recent = await unsplit.telemetry.series.query({ gpuIndex: 0, from: to - HOUR, to, metrics: ["temperatureC"], maxPoints: 5000 });
    expect(recent.bucketMs).toBe(Math.ceil(HOUR / 4999));
  });
});

describe("procedure paths named like Object's own properties", () => {
  it("cost nothing and are answered 404, and history is answered after them", async () => {
    for (const name of ["constructor", "toString", "__proto__", "valueOf"]) {
      const res = await fetch(`${server.url}/api/trpc/${name}`, { signal: AbortSignal.timeout(10_000) });
      expect(res.status, name).toBe(404);
    }
    const history = await fetch(`${server.url}/api/telemetry/history?hours=1&limit=10`, { signal: AbortSignal.timeout(10_000) });
    expect(history.status).toBe(200);
  });
});

describe("the work one REST request may ask for", () => {
  it("history answers up to 10,000 records and refuses more naming the limit", async () => {
    const within = await fetch(`${server.url}/api/telemetry/history?hours=1&limit=10000`);
    expect(within.status).toBe(200);
    await within.arrayBuffer();
    const over = await fetch(`${server.url}/api/telemetry/history?hours=1&limit=10001`);
    expect(over.status).toBe(400);
    expect(await over.json()).toEqual({
      error: { code: "BAD_REQUEST", message: "limit: must be at most 10000", fields: { limit: ["must be at most 10000"] } },
    });
  });
});

describe("many requests for records at once", () => {
  it("are all answered in turn, and those whose clients leave while waiting give their turn back", async () => {
    const history = `${server.url}/api/telemetry/history?hours=1&limit=10000`;
    const leaving = Array.from({ length: 20 }, async () => {
      const controller = new AbortController();
      const answer = fetch(history, { signal: controller.signal }).then((res) => res.arrayBuffer());
      controller.abort();
      await answer.catch(() => undefined);
    });
    const staying = Array.from({ length: 12 }, async () => {
      const res = await fetch(history);
      await res.arrayBuffer();
      return res.status;
    });
    // A client each, so that each sends a batch of its own: 10 × 1000 records, the most one request may ask for.
    const batches = Array.from({ length: 4 }, () => {
      const client = trpcClient(server.url);
      return Promise.all(Array.from({ length: 10 }, () => client.telemetry.history.query({ hours: 1, limit: 1000 })));
    });
    await Promise.all(leaving);
    expect(await Promise.all(staying)).toEqual(Array(12).fill(200));
    expect((await Promise.all(batches)).every((answers) => answers.every((records) => records.length > 0))).toBe(true);
    // Nothing is left holding a turn: a request after them all is answered.
    const after = await fetch(history);
    expect(after.status).toBe(200);
    expect(((await after.json()) as unknown[]).length).toBeGreaterThan(0);
  });
});
