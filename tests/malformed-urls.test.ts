import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../src/server/http-server";
import { startApiServer } from "./helpers/api-server";
import { rawHttp, WEBSOCKET_UPGRADE } from "./helpers/raw-http";
import { startServerProcess, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * Percent-escapes that are not valid UTF-8, or not escapes at all, in every
 * place a URL reaches: each request gets an answer (never a 5xx, never a
 * connection held open), and the process neither crashes nor logs an uncaught
 * exception. Sent over a plain socket, so no client repairs the URL first.
 */

const dir = tempDir("nvoc-malformed-");
const TOKEN = randomBytes(24).toString("hex");
const BAD = "%E0%A4%A";

/** Where a URL is read: tRPC paths and inputs, REST paths and queries, the sign-in page and its `next`, pages, /metrics. */
const TARGETS = [
  `/api/trpc/${BAD}`,
  `/api/trpc/health.status,${BAD}?batch=1`,
  `/api/trpc/health.status?input=${BAD}`,
  `/api/trpc/telemetry.history?input=%7B%22hours%22%3A${BAD}%7D`,
  `/signin?next=/%C4%80`,
  `/signin?next=${BAD}`,
  `/signin?next=/${BAD}`,
  `/signin?${BAD}=1`,
  `/api/telemetry/history?hours=${BAD}`,
  `/api/telemetry/history?${BAD}=1`,
  `/api/telemetry/stats/${BAD}`,
  `/api/telemetry/${BAD}`,
  `/metrics?${BAD}`,
  `/metrics/${BAD}`,
  `/${BAD}`,
  `/history?gpu=${BAD}&range=1h`,
  `/history/${BAD}`,
  `/_next/static/${BAD}`,
  "/%",
  "/%C0%AF",
  "/%ED%A0%80",
];

const UPGRADE_TARGETS = [`/api/telemetry/stream?interval=${BAD}`, `/api/telemetry/stream?${BAD}`, `/api/telemetry/${BAD}`, `/${BAD}`];

/** Each target over GET and POST, each handshake; every one must be answered below 500. */
async function expectEveryOneAnswered(port: number, headers: Record<string, string>) {
  for (const target of TARGETS) {
    for (const method of ["GET", "POST"]) {
      const answer = await rawHttp(
        port,
        target,
        { "Content-Type": "application/json", ...headers },
        { method, body: method === "POST" ? "{}" : "" },
      );
      expect(answer.status, `${method} ${target}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
      const location = answer.headers.location;
      if (location !== undefined) expect(new URL(location, "http://127.0.0.1").origin, `${target} -> ${location}`).toBe("http://127.0.0.1");
    }
  }
  for (const target of UPGRADE_TARGETS) {
    const answer = await rawHttp(port, target, { ...headers, ...WEBSOCKET_UPGRADE });
    expect(answer.status, `upgrade ${target}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  }
}

function expectHealthyProcess(server: ServerProcess) {
  expect(server.child.exitCode).toBeNull();
  expect(server.child.signalCode).toBeNull();
  expect(server.logs.filter((line) => line.level >= 50).map((line) => line.msg)).toEqual([]);
  expect(server.stderr()).not.toMatch(/uncaught|unhandled|URIError|TypeError|\n\s+at /i);
}

describe("malformed escapes, as the server runs (pages served)", () => {
  let open: ServerProcess;
  let guarded: ServerProcess;

  beforeAll(async () => {
    const common = { NVOC_SOURCE: "simulated", NVOC_SIM_GPUS: "1", NVOC_INTERVAL_MS: "200" };
    [open, guarded] = await Promise.all([
      startServerProcess({ ...common, NVOC_DB_PATH: path.join(dir, "open.db") }),
      startServerProcess({ ...common, NVOC_TOKEN: TOKEN, NVOC_DB_PATH: path.join(dir, "guarded.db") }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([open?.stop(), guarded?.stop()]);
  });

  it("are answered by a server without a token", async () => {
    const port = Number(new URL(open.url).port);
    await expectEveryOneAnswered(port, { Host: `127.0.0.1:${port}` });
    // The sign-in page's own redirect: the path it names, percent-encoded for the Location header.
    const signIn = await rawHttp(port, "/signin?next=/%C4%80", { Host: `127.0.0.1:${port}` });
    expect(signIn.status).toBe(303);
    expect(signIn.headers.location).toBe("/%C4%80");
    const trpc = await rawHttp(port, `/api/trpc/${BAD}`, { Host: `127.0.0.1:${port}` });
    expect(trpc.status).toBe(400);
    expectHealthyProcess(open);
  });

  it("are answered by a server with a token, before and after signing in", async () => {
    const port = Number(new URL(guarded.url).port);
    const host = { Host: `127.0.0.1:${port}` };
    await expectEveryOneAnswered(port, host);
    await expectEveryOneAnswered(port, { ...host, Authorization: `Bearer ${TOKEN}` });
    // The refusal names the procedures it refuses, as they were sent when they do not decode.
    const refused = await rawHttp(port, `/api/trpc/${BAD}`, host);
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { data: { code: "UNAUTHORIZED", path: BAD } } });
    expectHealthyProcess(guarded);
  });
});

describe("malformed escapes, on a server without pages", () => {
  // In this process (startApiServer): no Next.js handler hides an uncaught exception or rejection.
  let server: RunningServer;

  beforeAll(async () => {
    server = await startApiServer(path.join(dir, "no-pages.db"), { gpus: 1, intervalMs: 200 });
  });

  afterAll(async () => {
    await server?.close();
  });

  it("are answered, and a page path is a plain 404", async () => {
    await expectEveryOneAnswered(server.port, { Host: `127.0.0.1:${server.port}` });
    expect((await rawHttp(server.port, `/${BAD}`, { Host: `127.0.0.1:${server.port}` })).status).toBe(404);
  });
});
