import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/http-server";
import { appRouter } from "../src/server/routers/_app";
import { createRequestContext } from "../src/server/trpc/context";
import { MAX_BATCH_CALLS, MAX_SERIES_POINTS } from "../src/telemetry/request-limits";
import { METRIC_KEYS } from "../src/telemetry/types";
import { startApiServer } from "./helpers/api-server";
import { tempDir } from "./helpers/temp-dir";
import { waitFor } from "./helpers/server-process";

/**
 * The server answers tRPC queries over GET itself (query-answers.ts), writing the JSON in pieces.
 * Every request here is asked of it and of tRPC's own adapter serving the same services, and the
 * two answers must agree to the byte: status, content type, vary and body, successes and
 * refusals alike, single calls and batches.
 */

const dir = tempDir("nvoc-query-answers-");
let server: RunningServer;
let reference: http.Server;
let referenceUrl: string;
let window: { from: number; to: number };

beforeAll(async () => {
  server = await startApiServer(path.join(dir, "answers.db"), { gpus: 2, intervalMs: 100 });
  const started = Date.now();
  // A window wholly in the past, with samples of both GPUs in it: its answers no longer change.
  await waitFor(() => (server.services.collector.latest()?.id ?? 0) >= 15, 20_000);
  window = { from: started - 1000, to: Date.now() - 100 };
  const adapter = createHTTPHandler({
    router: appRouter,
    basePath: "/api/trpc/",
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: (request) => createRequestContext(server.services, request),
  });
  reference = http.createServer(adapter);
  await new Promise<void>((resolve) => reference.listen(0, "127.0.0.1", resolve));
  referenceUrl = `http://127.0.0.1:${(reference.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (reference) await new Promise((resolve) => reference.close(resolve));
  await server?.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A plain GET without compression, as curl asks. */
function get(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      })
      .on("error", reject);
  });
}

const query = (procedure: string, input?: unknown) =>
  `/api/trpc/${procedure}${input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`}`;
const batch = (procedures: string[], inputs: Record<number, unknown>) =>
  `/api/trpc/${procedures.join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify(inputs))}`;

const series = (gpuIndex: number, extra: object = {}) => ({
  gpuIndex,
  ...window,
  metrics: ["temperatureC", "powerDrawW"],
  maxPoints: 20,
  ...extra,
});

/** Asks both, checks they agree, and returns ours. */
async function bothAnswer(target: string): Promise<Answer> {
  const [ours, theirs] = await Promise.all([get(server.url + target), get(referenceUrl + target)]);
  expect({ status: ours.status, body: ours.body }, target).toEqual({ status: theirs.status, body: theirs.body });
  expect(ours.headers["content-type"]).toBe(theirs.headers["content-type"]);
  expect(ours.headers.vary).toContain(theirs.headers.vary);
  return ours;
}

describe("tRPC queries over GET", () => {
  it("answer as tRPC's adapter does, written in pieces of a length known up front", async () => {
    const cases = [
      query("telemetry.series", series(0)),
      query("telemetry.seriesOfGpus", {
        ...window,
        metrics: [...METRIC_KEYS],
        maxPoints: 500,
        clockReasons: true,
        gpus: [{ gpuIndex: 0 }, { gpuIndex: 1 }],
      }),
      batch(["telemetry.series", "telemetry.series"], { 0: series(0), 1: series(1, { clockReasons: true }) }),
      // The path percent-encoded, as some clients write it.
      `/api/trpc/telemetry%2Eseries?input=${encodeURIComponent(JSON.stringify(series(1)))}`,
      // A GPU never seen: an empty answer.
      query("telemetry.series", series(7)),
    ];
    for (const target of cases) {
      const ours = await bothAnswer(target);
      expect(ours.status, target).toBe(200);
      // tRPC's adapter streams its answer in chunks; this path says its length first.
      expect(Number(ours.headers["content-length"]), target).toBe(Buffer.byteLength(ours.body));
    }
  });

  it("refuse bad input, and a batch over the budget, with tRPC's own words and statuses", async () => {
    const badInput = await bothAnswer(query("telemetry.series", series(0, { maxPoints: 0 })));
    expect(badInput.status).toBe(400);
    expect(badInput.body).toContain("maxPoints");

    const mixed = await bothAnswer(batch(["telemetry.series", "telemetry.series"], { 0: series(0), 1: series(1, { to: 1 }) }));
    expect(mixed.status).toBe(207);

    const huge = { ...series(0), metrics: [...METRIC_KEYS], maxPoints: MAX_SERIES_POINTS, clockReasons: true };
    const overBudget = await bothAnswer(batch(["telemetry.series", "telemetry.series"], { 0: huge, 1: huge }));
    expect(overBudget.status).toBe(413);
    expect(JSON.parse(overBudget.body)).toHaveLength(2);

    // A missing input is a missing input for every call of a batch.
    expect((await bothAnswer("/api/trpc/telemetry.series,telemetry.series?batch=1")).status).toBe(400);
  });

  it("leave to tRPC's adapter what they do not take: its answers are the same", async () => {
    const left = [
      "/api/trpc/telemetry.nothing",
      `/api/trpc/telemetry.series?input=%7Bnot%20json`,
      `/api/trpc/telemetry.series,telemetry.series?batch=1&input=${encodeURIComponent("[1,2]")}`,
      `/api/trpc/${Array(MAX_BATCH_CALLS + 1)
        .fill("telemetry.series")
        .join(",")}?batch=1&input=%7B%7D`,
    ];
    for (const target of left) {
      const ours = await bothAnswer(target);
      expect(ours.status, target).toBeGreaterThanOrEqual(400);
      expect(ours.headers["content-length"], target).toBeUndefined();
    }
  });
});
