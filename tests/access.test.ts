import { randomBytes } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { createTelemetryClient } from "../src/client/telemetry-client";
import { ConfigError, loadConfig } from "../src/server/config";
import { rawHttp } from "./helpers/raw-http";
import { startServerProcess, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir("nvoc-access-");
const TOKEN = randomBytes(24).toString("hex");
const PROXY_ORIGIN = "https://gpus.example.org";
let server: ServerProcess;

beforeAll(async () => {
  // Bound to every address, as on a lab server: the token is what keeps others out.
  server = await startServerProcess({
    HOST: "0.0.0.0",
    NVOC_TOKEN: TOKEN,
    NVOC_ALLOWED_ORIGINS: PROXY_ORIGIN,
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: "1",
    NVOC_INTERVAL_MS: "200",
    NVOC_DB_PATH: path.join(dir, "telemetry.db"),
  });
});

afterAll(async () => {
  await server?.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = (pathAndQuery: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${pathAndQuery}`, { headers, redirect: "manual" });

/** Every kind of thing the server serves, as a plain GET. */
const SURFACES = {
  page: "/",
  "history page": "/history?gpu=0&range=1h",
  tRPC: "/api/trpc/health.status",
  REST: "/api/telemetry/history?limit=1",
  export: "/api/telemetry/export?format=csv&hours=1",
  usage: "/api/usage/summary?by=user",
  SSE: "/api/trpc/telemetry.live",
} as const;

/** Opens the WebSocket stream and resolves with its first message, or the refused handshake's status. */
function openStream(headers: Record<string, string>): Promise<{ status: number; message?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/api/telemetry/stream`, { headers });
    ws.once("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.once("message", (data) => {
      resolve({ status: 101, message: (data as Buffer).toString() });
      ws.close();
    });
    ws.once("error", (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** Values of `next` (before encoding) a browser would follow to another site, once it drops tabs and line breaks and reads `\\` as `/`. */
const HOSTILE_NEXT = [
  "//evil.example/",
  "///evil.example/",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r/evil.example",
  "/\r\n/evil.example",
  "\t//evil.example",
  "/\\evil.example",
  "\\/evil.example",
  "\\\\evil.example",
  "/\\/evil.example",
  "/.//evil.example",
  "/a/..//evil.example",
  "/./\\evil.example",
  "/\u0000/evil.example",
  "/\u007f/evil.example",
  " //evil.example",
  "http://evil.example",
  "HTTPS://evil.example/",
  "https:evil.example",
  "javascript:alert(1)",
  "data:text/html,hi",
  "evil.example",
];

/** The same, spelled as a browser's address bar or a link might put them in the query. */
const HOSTILE_NEXT_QUERIES = [
  "next=/%09/evil.example",
  "next=/%0A/evil.example",
  "next=/%0D/evil.example",
  "next=%2F%2Fevil.example",
  "next=/%5Cevil.example",
  "next=%5C/evil.example",
  "next=/%09/%2Fevil.example",
  "next=/%2509/evil.example",
  "next=/\\evil.example",
  "next=http:%2F%2Fevil.example",
  "next=/%E0%A4%A",
  "next=%E0%A4%A",
];

function expectOwnOrigin(location: string | null, base: URL, what: string) {
  expect(location, what).not.toBeNull();
  // Resolved as a browser resolves a Location: tabs and line breaks dropped, backslashes read as slashes.
  expect(new URL(location!, base).origin, `${what} -> ${location}`).toBe(base.origin);
  expect(location!, what).toMatch(/^\/(?![/\\])/);
}

describe("settings", () => {
  it("refuse a non-loopback address without a token, naming NVOC_TOKEN, unless unauthenticated is asked for", () => {
    expect(() => loadConfig({ HOST: "0.0.0.0" })).toThrow(ConfigError);
    expect(() => loadConfig({ HOST: "0.0.0.0" })).toThrow(/NVOC_TOKEN: required when HOST \(0\.0\.0\.0\)/);
    expect(() => loadConfig({ HOST: "192.168.1.20" })).toThrow(/NVOC_ALLOW_UNAUTHENTICATED=1/);
    expect(loadConfig({ HOST: "0.0.0.0", NVOC_ALLOW_UNAUTHENTICATED: "1" }).token).toBeNull();
    expect(loadConfig({ HOST: "0.0.0.0", NVOC_TOKEN: TOKEN }).token).toBe(TOKEN);
    for (const host of ["127.0.0.1", "127.0.1.1", "::1", "localhost"]) expect(loadConfig({ HOST: host }).token).toBeNull();
  });

  it("refuse a short token and origins that are not origins", () => {
    expect(() => loadConfig({ NVOC_TOKEN: "hunter2" })).toThrow(/NVOC_TOKEN must be at least 16 characters/);
    expect(() => loadConfig({ NVOC_ALLOWED_ORIGINS: "gpus.example.org" })).toThrow(/NVOC_ALLOWED_ORIGINS must list origins/);
    expect(() => loadConfig({ NVOC_ALLOWED_ORIGINS: "https://a.example/path" })).toThrow(/NVOC_ALLOWED_ORIGINS/);
    expect(loadConfig({ NVOC_ALLOWED_ORIGINS: "https://a.example, http://b.example:8080/" }).allowedOrigins).toEqual([
      "https://a.example",
      "http://b.example:8080",
    ]);
  });

  it("take host names, and only host names, in NVOC_ALLOWED_HOSTS", () => {
    for (const value of [
      "https://gpus.example.org",
      "gpus.example.org:8000",
      "gpus.example.org/",
      "gpus example",
      "-gpus.example",
      "*.example.org",
      "user@gpus.example",
    ]) {
      expect(() => loadConfig({ NVOC_ALLOWED_HOSTS: value }), value).toThrow(/NVOC_ALLOWED_HOSTS must list host names/);
    }
    expect(loadConfig({ NVOC_ALLOWED_HOSTS: "GPUS.example.org, 192.168.1.20,[fe80::1], gpu-box" }).allowedHosts).toEqual([
      "gpus.example.org",
      "192.168.1.20",
      "[fe80::1]",
      "gpu-box",
    ]);
    expect(loadConfig({}).allowedHosts).toEqual([]);
  });

  it("stop the server with exit code 2 and the message on a public address without a token", async () => {
    await expect(startServerProcess({ HOST: "0.0.0.0", NVOC_DB_PATH: path.join(dir, "refused.db") }, 20_000)).rejects.toThrow(
      /NVOC_TOKEN: required/,
    );
  });

  it("let it serve openly when NVOC_ALLOW_UNAUTHENTICATED=1 is set, with a warning", async () => {
    const open = await startServerProcess({
      HOST: "0.0.0.0",
      NVOC_ALLOW_UNAUTHENTICATED: "1",
      NVOC_SOURCE: "simulated",
      NVOC_DB_PATH: path.join(dir, "open.db"),
    });
    try {
      expect((await fetch(`${open.url}/api/telemetry/history?limit=1`)).status).toBe(200);
      await open.waitForLog((line) => /anyone who can reach this address/.test(line.msg));
    } finally {
      await open.stop();
    }
  });
});

describe("a server with NVOC_TOKEN", () => {
  it("refuses every page, API call, export and stream without the token", async () => {
    for (const [surface, target] of Object.entries(SURFACES)) {
      const res = await get(target, target.includes("live") ? { accept: "text/event-stream" } : {});
      if (surface.includes("page")) {
        expect(res.status, surface).toBe(303);
        expect(res.headers.get("location"), surface).toBe(`/signin?next=${encodeURIComponent(target)}`);
      } else {
        expect(res.status, surface).toBe(401);
        expect(res.headers.get("www-authenticate"), surface).toMatch(/^Bearer/);
        expect(await res.text(), surface).toMatch(/Authorization: Bearer <NVOC_TOKEN>.*sign in at \/signin/);
      }
    }
    expect((await openStream({})).status).toBe(401);
  });

  it("refuses a wrong token everywhere, and logs it", async () => {
    const wrong = bearer(`${TOKEN.slice(0, -1)}${TOKEN.endsWith("0") ? "1" : "0"}`);
    for (const [surface, target] of Object.entries(SURFACES)) {
      const res = await get(target, wrong);
      expect(res.status, surface).toBe(401);
      expect(await res.text(), surface).toMatch(/the token is wrong/);
    }
    expect((await openStream(wrong)).status).toBe(401);
    await server.waitForLog((line) => line.msg === "refused a request with a wrong token");
  });

  it("serves every surface to the Bearer token", async () => {
    for (const [surface, target] of Object.entries(SURFACES)) {
      const controller = new AbortController();
      const res = await fetch(`${server.url}${target}`, { headers: bearer(TOKEN), signal: controller.signal });
      expect(res.status, surface).toBe(200);
      if (surface === "SSE") expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
      controller.abort();
    }
    const stream = await openStream(bearer(TOKEN));
    expect(stream.status).toBe(101);
    expect((JSON.parse(stream.message!) as { gpus: unknown[] }).gpus).toHaveLength(1);
  });

  it("answers the typed client with the token, and tells one without it why not", async () => {
    const client = createTelemetryClient(server.url, { token: TOKEN });
    expect((await client.gpus.list.query()).map((g) => g.index)).toEqual([0]);
    const event = await new Promise<{ id: string }>((resolve, reject) => {
      const subscription = client.telemetry.live.subscribe(undefined, {
        onData: (data) => {
          subscription.unsubscribe();
          resolve(data);
        },
        onError: reject,
      });
    });
    expect(Number(event.id)).toBeGreaterThan(0);

    const anonymous = createTelemetryClient(server.url);
    const refused = await anonymous.gpus.list.query().then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(TRPCClientError);
    expect((refused as TRPCClientError<never>).message).toMatch(/needs its token/);
    expect((refused as TRPCClientError<never>).data).toMatchObject({ code: "UNAUTHORIZED", httpStatus: 401 });
  });

  it("trades the token for an HttpOnly cookie on the sign-in page, and signs out", async () => {
    const page = await get("/signin?next=%2Fhistory");
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<input id="token" name="token" type="password"/);

    const signIn = (token: string, next = "/history", headers: Record<string, string> = {}) =>
      fetch(`${server.url}/signin?next=${encodeURIComponent(next)}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
        body: new URLSearchParams({ token }).toString(),
        redirect: "manual",
      });

    const wrong = await signIn("not-the-token-at-all");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toMatch(/not the one this server was started with/);

    const right = await signIn(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/history");
    const cookie = right.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^nvoc_session=[\w-]+; HttpOnly; SameSite=Strict; Path=\//);
    // The cookie is derived from the token, never the token itself.
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(";", 1)[0];

    expect((await get("/", { cookie: session })).status).toBe(200);
    expect((await get("/api/telemetry/history?limit=1", { cookie: session })).status).toBe(200);
    expect((await openStream({ cookie: session })).status).toBe(101);
    expect((await get("/api/telemetry/history?limit=1", { cookie: "nvoc_session=forged" })).status).toBe(401);

    // Never a redirect to another site, whatever `next` says.
    for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
      expect((await signIn(TOKEN, next)).headers.get("location")).toBe("/");
    }
    // Nor a sign-in posted from another site's page.
    expect((await signIn(TOKEN, "/", { origin: "https://evil.example" })).status).toBe(403);

    const out = await fetch(`${server.url}/signin`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: session },
      body: "action=sign-out",
      redirect: "manual",
    });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/^nvoc_session=; .*Max-Age=0/);
  });

  it("bound to every interface, answers to this machine's host name and addresses, and to no other name even with the token", async () => {
    const port = Number(new URL(server.url).port);
    const addresses = Object.values(os.networkInterfaces())
      .flatMap((entries) => entries ?? [])
      .map((entry) => (entry.family === "IPv6" ? `[${entry.address}]` : entry.address));
    for (const name of [os.hostname(), ...addresses, "0.0.0.0", "localhost"]) {
      const res = await rawHttp(port, "/api/trpc/health.status", { Host: `${name}:${port}`, ...bearer(TOKEN) });
      expect(res.status, name).toBe(200);
    }
    for (const target of Object.values(SURFACES)) {
      const res = await rawHttp(port, target, { Host: `evil.example:${port}`, ...bearer(TOKEN) });
      expect(res.status, target).toBe(421);
      expect(res.body, target).toMatch(/NVOC_ALLOWED_HOSTS/);
    }
  });

  it("sends a browser only to a path of this server after signing in, whatever `next` says", async () => {
    const base = new URL(server.url);
    const signIn = (query: string) =>
      fetch(`${server.url}/signin?${query}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: TOKEN }).toString(),
        redirect: "manual",
      });
    for (const next of HOSTILE_NEXT) {
      const res = await signIn(`next=${encodeURIComponent(next)}`);
      expect(res.status, JSON.stringify(next)).toBe(303);
      expectOwnOrigin(res.headers.get("location"), base, JSON.stringify(next));
    }
    for (const query of HOSTILE_NEXT_QUERIES) {
      const res = await signIn(query);
      expectOwnOrigin(res.headers.get("location"), base, query);
    }
    // Paths of this server are kept, non-ASCII ones percent-encoded for the header.
    expect((await signIn(`next=${encodeURIComponent("/history?gpu=1&range=6h")}`)).headers.get("location")).toBe("/history?gpu=1&range=6h");
    expect((await signIn("next=/%C4%80")).headers.get("location")).toBe("/%C4%80");

    // The `next` the gate itself puts in its redirect to the sign-in page is a path of this server too.
    const { port } = base;
    for (const target of ["//evil.example/", "///evil.example/", "/.//evil.example/", "/\\evil.example/", "/history/..//evil.example"]) {
      const res = await rawHttp(Number(port), target, { Host: base.host });
      expect(res.status, target).toBe(303);
      const location = new URL(res.headers.location, base);
      expect(location.pathname, target).toBe("/signin");
      expectOwnOrigin(location.searchParams.get("next"), base, target);
    }
  });

  it("refuses a prune, an SSE or a WebSocket stream from a foreign Origin, even with the token", async () => {
    const host = new URL(server.url).host;
    const prune = (origin: string) =>
      fetch(`${server.url}/api/trpc/database.prune`, {
        method: "POST",
        headers: { ...bearer(TOKEN), origin, "content-type": "application/json" },
        body: JSON.stringify({ force: false }),
      });
    const foreign = await prune("https://evil.example");
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toMatch(/requests from https:\/\/evil\.example are not allowed/);
    expect((await prune(`http://${host}`)).status).toBe(200);
    expect((await prune(PROXY_ORIGIN)).status).toBe(200);

    const sse = await get(SURFACES.SSE, { ...bearer(TOKEN), origin: "https://evil.example" });
    expect(sse.status).toBe(403);
    expect((await openStream({ ...bearer(TOKEN), origin: "https://evil.example" })).status).toBe(403);
    expect((await openStream({ ...bearer(TOKEN), origin: "null" })).status).toBe(403);
    expect((await openStream({ ...bearer(TOKEN), origin: `http://${host}` })).status).toBe(101);
  });
});
