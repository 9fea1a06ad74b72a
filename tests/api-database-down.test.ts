import fs from "node:fs";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTelemetryClient, type TelemetryClient } from "../src/client/telemetry-client";
import { startServerProcess, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
let server: ServerProcess;
let client: TelemetryClient;

beforeAll(async () => {
  // A regular file where the database folder should be: the database can never open.
  const blocker = path.join(dir, "not-a-folder");
  fs.writeFileSync(blocker, "in the way");
  server = await startServerProcess({
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: "2",
    NVOC_INTERVAL_MS: "100",
    NVOC_DB_PATH: path.join(blocker, "telemetry.db"),
  });
  client = createTelemetryClient(server.url);
});

afterAll(async () => {
  await server?.stop();
});

const UNAVAILABLE = /^the telemetry database is unavailable: .*(EEXIST|ENOTDIR)/;

async function unavailable(call: () => Promise<unknown>) {
  const failure = await call().then(
    () => new Error("the call succeeded"),
    (error: unknown) => error,
  );
  expect(failure).toBeInstanceOf(TRPCClientError);
  const error = failure as TRPCClientError<never>;
  expect(error.data).toMatchObject({ code: "SERVICE_UNAVAILABLE", httpStatus: 503 });
  expect(error.message).toMatch(UNAVAILABLE);
}

describe("with the database unavailable", () => {
  it("tRPC history, stats, series and database procedures answer SERVICE_UNAVAILABLE", async () => {
    const now = Date.now();
    await unavailable(() => client.telemetry.history.query({}));
    await unavailable(() => client.telemetry.stats.query({ gpuIndex: 0 }));
    await unavailable(() => client.telemetry.series.query({ gpuIndex: 0, from: now - 60_000, to: now, metrics: ["temperatureC"] }));
    await unavailable(() => client.database.stats.query());
    await unavailable(() => client.database.prune.mutate({ force: true }));
  });

  it("REST history, stats, export and database stats answer 503 JSON", async () => {
    for (const path of [
      "/api/telemetry/history",
      "/api/telemetry/stats/0?hours=2",
      "/api/telemetry/export?format=json",
      "/api/telemetry/export",
      "/api/telemetry/database/stats",
    ]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(503);
      expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expect(res.headers.get("content-disposition")).toBeNull();
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("SERVICE_UNAVAILABLE");
      expect(body.error.message).toMatch(UNAVAILABLE);
      expect(JSON.stringify(body)).not.toMatch(/\.ts:\d+|stack/i);
    }
    // Bad input is still bad input.
    expect((await fetch(`${server.url}/api/telemetry/history?hours=0`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/telemetry/export?format=xml`)).status).toBe(400);
  });

  it("collector.status, gpus.list and health.status keep answering", async () => {
    const status = await waitFor(
      async () => {
        const s = await client.collector.status.query();
        return s.collected >= 20 ? s : undefined;
      },
      20_000,
      "20 collected samples",
    );
    expect(status).toMatchObject({ stored: 0, gpuCount: 2 });
    const gpus = await client.gpus.list.query();
    expect(gpus.map((g) => [g.index, g.online, g.firstSeen])).toEqual([
      [0, true, null],
      [1, true, null],
    ]);
    expect((await client.health.status.query()).database).toMatchObject({ available: false });
  });

  it("telemetry.live keeps streaming over SSE", async () => {
    const events = await new Promise<Array<{ id: number; gpus: number }>>((resolve, reject) => {
      const seen: Array<{ id: number; gpus: number }> = [];
      const subscription = client.telemetry.live.subscribe(undefined, {
        onData({ id, data }) {
          seen.push({ id: Number(id), gpus: data.samples.length });
          if (seen.length < 3) return;
          subscription.unsubscribe();
          resolve(seen);
        },
        onError(error) {
          subscription.unsubscribe();
          reject(error);
        },
      });
    });
    const first = events[0].id;
    expect(events).toEqual([0, 1, 2].map((n) => ({ id: first + n, gpus: 2 })));
  });

  it("the WebSocket stream keeps pushing snapshots", async () => {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/telemetry/stream?interval=0.1`);
    const messages: Array<{ gpus: Array<{ gpu_index: number }> }> = [];
    ws.on("message", (data) => messages.push(JSON.parse((data as Buffer).toString()) as (typeof messages)[number]));
    try {
      await waitFor(() => (messages.length >= 3 ? true : undefined), 10_000, "three stream messages");
    } finally {
      ws.close();
    }
    for (const m of messages) expect(m.gpus.map((g) => g.gpu_index)).toEqual([0, 1]);
  });
});
