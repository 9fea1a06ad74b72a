import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startServerProcess, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
let server: ServerProcess;

beforeAll(async () => {
  server = await startServerProcess({
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: "2",
    NVOC_INTERVAL_MS: "100",
    NVOC_DB_PATH: path.join(dir, "ws.db"),
  });
});

afterAll(async () => {
  await server?.stop();
});

interface StreamMessage {
  timestamp: string;
  gpus: Array<Record<string, unknown> & { gpu_index: number; timestamp: string }>;
}

interface Stream {
  ws: WebSocket;
  messages: Array<StreamMessage & { receivedAt: number }>;
  openedAt: Promise<number>;
  closed: Promise<{ code: number }>;
}

const wsUrl = (query: string) => `${server.url.replace(/^http/, "ws")}/api/telemetry/stream${query}`;

function openStream(query: string): Stream {
  const ws = new WebSocket(wsUrl(query));
  const messages: Stream["messages"] = [];
  ws.on("message", (data) => messages.push({ ...(JSON.parse((data as Buffer).toString()) as StreamMessage), receivedAt: Date.now() }));
  const openedAt = new Promise<number>((resolve, reject) => {
    ws.once("open", () => resolve(Date.now()));
    ws.once("error", reject);
  });
  const closed = new Promise<{ code: number }>((resolve) => ws.once("close", (code) => resolve({ code })));
  return { ws, messages, openedAt, closed };
}

/** The HTTP answer to an upgrade the server refuses. */
interface Refusal {
  status: number;
  body: { error: { code: string; message: string; fields: Record<string, string[]> } };
}

function refusal(query: string): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(query));
    ws.once("open", () => reject(new Error(`${query} was accepted`)));
    ws.once("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Refusal["body"] }));
    });
    ws.once("error", () => undefined);
  });
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe("WebSocket stream /api/telemetry/stream", () => {
  it("pushes one snapshot per interval, with the same snake_case records as the history", async () => {
    const stream = openStream("?interval=0.2");
    await waitFor(() => (stream.messages.length >= 6 ? true : undefined), 10_000, "six messages");
    stream.ws.close();
    const times = stream.messages.map((m) => Date.parse(m.timestamp));
    for (const m of stream.messages) expect(m.timestamp).toMatch(ISO);
    // Never faster than asked: 200 ms apart (a little timer slack allowed).
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1], `gap ${i}`).toBeGreaterThanOrEqual(180);

    const [history] = (await (await fetch(`${server.url}/api/telemetry/history?limit=1`)).json()) as Array<Record<string, unknown>>;
    for (const m of stream.messages) {
      expect(m.gpus.map((g) => g.gpu_index)).toEqual([0, 1]);
      for (const gpu of m.gpus) {
        expect(Object.keys(gpu)).toEqual(Object.keys(history));
        expect(gpu.timestamp).toMatch(ISO);
        expect(gpu.gpu_name).toBe("NVIDIA H200 (simulated)");
      }
    }
    // Readings move on: the newest sample time never goes back, and does advance.
    const readings = stream.messages.map((m) => Date.parse(m.gpus[0].timestamp));
    expect([...readings].sort((a, b) => a - b)).toEqual(readings);
    expect(readings.at(-1)!).toBeGreaterThan(readings[0]);
  });

  it("sends the newest snapshot at once on connect, then every second by default", async () => {
    const stream = openStream("");
    const openedAt = await stream.openedAt;
    await waitFor(() => (stream.messages.length >= 2 ? true : undefined), 10_000, "two messages");
    stream.ws.close();
    expect(stream.messages[0].receivedAt - openedAt).toBeLessThan(900);
    expect(Date.parse(stream.messages[1].timestamp) - Date.parse(stream.messages[0].timestamp)).toBeGreaterThanOrEqual(980);
  });

  it("filters by gpu_index", async () => {
    const stream = openStream("?interval=0.1&gpu_index=1");
    await waitFor(() => (stream.messages.length >= 3 ? true : undefined), 10_000, "three messages");
    stream.ws.close();
    for (const m of stream.messages) expect(m.gpus.map((g) => g.gpu_index)).toEqual([1]);
  });

  it.each([
    ["?interval=0.01", "interval", "must be at least 0.1"],
    ["?interval=61", "interval", "must be at most 60"],
    ["?interval=abc", "interval", "must be a number"],
    ["?interval=", "interval", "must be a number"],
    ["?interval=1&interval=2", "interval", "must be given once"],
    ["?gpu_index=-1", "gpu_index", "must be 0 or more"],
    ["?every=1", "every", "is not a parameter of this path (it takes interval, gpu_index, gpu_uuid)"],
  ])("refuses %s with HTTP 400 naming %s", async (query, field, message) => {
    const { status, body } = await refusal(query);
    expect(status).toBe(400);
    expect(body.error.code).toBe("BAD_REQUEST");
    expect(body.error.fields[field]).toEqual([message]);
    expect(body.error.message).toBe(`${field}: ${message}`);
  });

  it("ignores what clients send, and closes on oversized frames", async () => {
    const stream = openStream("?interval=0.1");
    await stream.openedAt;
    stream.ws.send("hello?");
    stream.ws.send(Buffer.from([0xff, 0x00, 0x13]));
    const before = stream.messages.length;
    await waitFor(() => (stream.messages.length >= before + 3 ? true : undefined), 10_000, "messages after client chatter");
    expect(stream.ws.readyState).toBe(WebSocket.OPEN);

    stream.ws.send("x".repeat(64 * 1024));
    expect((await stream.closed).code).toBe(1009);
  });

  it("closes open streams when the server shuts down", async () => {
    const stream = openStream("?interval=0.5");
    await waitFor(() => (stream.messages.length >= 1 ? true : undefined), 10_000, "a first message");
    const exit = await server.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    await stream.closed;
    expect(stream.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
