import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttp, WEBSOCKET_UPGRADE, type RawAnswer } from "./helpers/raw-http";
import { startServerProcess, trpcClient, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

/**
 * DNS rebinding: a page on evil.example makes its name resolve to 127.0.0.1,
 * and the browser then sends `Host: evil.example` and `Origin:
 * http://evil.example` to this server and lets the page read the answers. A
 * server on the default loopback bind, without a token, must refuse every
 * such request, and still serve the names it is really reached under.
 */

const dir = tempDir("nvoc-hosts-");
const LAB_NAME = "gpus.lab.example";
let server: ServerProcess;
let port: number;

beforeAll(async () => {
  server = await startServerProcess({
    NVOC_ALLOWED_HOSTS: `${LAB_NAME}, 10.1.2.3`,
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: "1",
    NVOC_INTERVAL_MS: "200",
    NVOC_DB_PATH: path.join(dir, "telemetry.db"),
  });
  port = Number(new URL(server.url).port);
});

afterAll(async () => {
  await server?.stop();
});

const EVIL = { Host: "evil.example", Origin: "http://evil.example" };
const PRUNE_ALL = JSON.stringify({ force: true });

/** Everything the server serves, the mutation and both streams included. */
const SURFACES: Array<{ name: string; target: string; method?: string; body?: string; headers?: Record<string, string> }> = [
  { name: "dashboard page", target: "/" },
  { name: "history page", target: "/history?gpu=0&range=1h" },
  { name: "sign-in page", target: "/signin?next=%2F" },
  {
    name: "sign-in form",
    target: "/signin",
    method: "POST",
    body: "token=x",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  },
  { name: "tRPC processes (command lines)", target: "/api/trpc/processes.list" },
  { name: "tRPC batch", target: "/api/trpc/gpus.list,health.status?batch=1&input=%7B%7D" },
  {
    name: "tRPC prune",
    target: "/api/trpc/database.prune",
    method: "POST",
    body: PRUNE_ALL,
    headers: { "Content-Type": "application/json" },
  },
  { name: "SSE stream", target: "/api/trpc/telemetry.live", headers: { Accept: "text/event-stream" } },
  { name: "REST history", target: "/api/telemetry/history?limit=1" },
  { name: "REST processes", target: "/api/telemetry/processes" },
  { name: "CSV export", target: "/api/telemetry/export?format=csv&hours=1" },
  { name: "Prometheus", target: "/metrics" },
  { name: "WebSocket stream", target: "/api/telemetry/stream?interval=1", headers: WEBSOCKET_UPGRADE },
  { name: "a page that does not exist", target: "/no/such/page" },
];

const send = (surface: (typeof SURFACES)[number], headers: Record<string, string>) =>
  rawHttp(port, surface.target, { ...headers, ...surface.headers }, { method: surface.method, body: surface.body });

const health = (host: string | null, version = "1.1") =>
  rawHttp(port, "/api/trpc/health.status", host === null ? {} : { Host: host }, { version });

async function lastPrune(): Promise<unknown> {
  return (await trpcClient(server.url).database.stats.query()).lastPrune;
}

function expectMisdirected(answer: RawAnswer, what: string) {
  expect(answer.status, `${what}: ${answer.text.slice(0, 300)}`).toBe(421);
  expect(answer.body, what).toContain("NVOC_ALLOWED_HOSTS");
  expect(answer.body, what).toContain("evil.example");
  // Nothing of the telemetry, the processes or the pages.
  expect(answer.body, what).not.toMatch(/uuid|pid|<html|DCGM_|gpu_index/i);
}

describe("a server on loopback without a token", () => {
  it("answers a rebinding page (Host and Origin evil.example) 421 naming NVOC_ALLOWED_HOSTS, on every page, API call and stream", async () => {
    const pruneBefore = await lastPrune();
    for (const surface of SURFACES) expectMisdirected(await send(surface, EVIL), surface.name);
    for (const surface of SURFACES)
      expectMisdirected(
        await send(surface, { Host: `evil.example:${port}`, Origin: `http://evil.example:${port}` }),
        `${surface.name}, with the port`,
      );
    // The prune never ran.
    expect(await lastPrune()).toEqual(pruneBefore);
    await server.waitForLog((line) => line.msg.startsWith("refused a request addressed to a host name that is not this server's"));
  });

  it("serves the names it is reached under: loopback, its address, NVOC_ALLOWED_HOSTS, with or without the port", async () => {
    const names = ["127.0.0.1", "127.9.8.7", "localhost", "LocalHost", "[::1]", LAB_NAME, "GPUS.lab.example", "10.1.2.3"];
    for (const name of names) {
      for (const host of [name, `${name}:${port}`]) {
        const answer = await health(host);
        expect(answer.status, `Host: ${host}: ${answer.body}`).toBe(200);
      }
    }
    // HTTP/1.0 has no Host: no browser sends such a request, so no page can be behind it.
    expect((await health(null, "1.0")).status).toBe(200);
  });

  it("refuses every other name, and Host values that are not a host name at all", async () => {
    const others = [
      "evil.example",
      `localhost.evil.example:${port}`,
      `127.0.0.1.evil.example:${port}`,
      `${LAB_NAME}.evil.example`,
      `evil.${LAB_NAME}`,
      `evil.example@127.0.0.1:${port}`,
      `127.0.0.1:${port}@evil.example`,
      `127.0.0.1/evil.example`,
      "[::1",
      "::1",
      "",
      "10.1.2.33",
    ];
    for (const host of others) {
      const answer = await health(host);
      expect(answer.status, `Host: ${JSON.stringify(host)}: ${answer.body}`).toBe(421);
      expect(answer.body).toMatch(/add it to NVOC_ALLOWED_HOSTS/);
    }
  });

  it("opens the WebSocket and the prune to its own names only, comparing Origin to those names rather than to the Host", async () => {
    const prune = (headers: Record<string, string>) =>
      rawHttp(
        port,
        "/api/trpc/database.prune",
        { "Content-Type": "application/json", ...headers },
        { method: "POST", body: JSON.stringify({ force: false }) },
      );
    expect((await prune({ Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).status).toBe(200);
    expect((await prune({ Host: `${LAB_NAME}:${port}`, Origin: `http://${LAB_NAME}:${port}` })).status).toBe(200);
    // Another program on this machine, on another port, is not this server.
    expect((await prune({ Host: `localhost:${port}`, Origin: `http://localhost:${port + 1}` })).status).toBe(403);
    // An Origin without a Host to match it: refused, a browser always sends both.
    expect(
      (
        await rawHttp(
          port,
          "/api/trpc/database.prune",
          { Origin: `http://127.0.0.1:${port}`, "Content-Type": "application/json" },
          { method: "POST", version: "1.0", body: "{}" },
        )
      ).status,
    ).toBe(403);

    const upgrade = (headers: Record<string, string>) =>
      rawHttp(port, "/api/telemetry/stream?interval=60", { ...headers, ...WEBSOCKET_UPGRADE });
    expect((await upgrade({ Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port}` })).status).toBe(101);
    expect((await upgrade({ Host: `127.0.0.1:${port}`, Origin: "http://evil.example" })).status).toBe(403);
  });
});
