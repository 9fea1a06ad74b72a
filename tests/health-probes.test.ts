import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, waitFor, type ServerProcess } from "./helpers/server-process";
import { tempDir } from "./helpers/temp-dir";

const dir = tempDir();
const TOKEN = "probe-test-token-0123456789";
let healthy: ServerProcess;
let noDatabase: ServerProcess;

beforeAll(async () => {
  // A regular file where the database folder should be: that database never opens.
  const blocker = path.join(dir, "not-a-folder");
  fs.writeFileSync(blocker, "in the way");
  [healthy, noDatabase] = await Promise.all([
    startServerProcess({
      NVOC_SOURCE: "simulated",
      NVOC_INTERVAL_MS: "100",
      NVOC_TOKEN: TOKEN,
      NVOC_DB_PATH: path.join(dir, "telemetry.db"),
    }),
    startServerProcess({ NVOC_SOURCE: "simulated", NVOC_INTERVAL_MS: "100", NVOC_DB_PATH: path.join(blocker, "telemetry.db") }),
  ]);
});

afterAll(async () => {
  await Promise.all([healthy?.stop(), noDatabase?.stop()]);
});

/** A GET with the Host a kubelet sends (the pod's address), and no token. */
function probe(server: ServerProcess, path: string, method = "GET"): Promise<{ status: number; body: string }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method, headers: { host: "10.1.2.3:8000" } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject).end();
  });
}

describe("health probes", () => {
  it("/healthz answers 200 without a token", async () => {
    expect(await probe(healthy, "/healthz")).toEqual({ status: 200, body: "ok\n" });
    expect((await probe(healthy, "/api/telemetry/gpus")).status).not.toBe(200);
  });

  it("/readyz answers 200 once samples flow and the database is writable, without a token", async () => {
    await waitFor(async () => ((await probe(healthy, "/readyz")).status === 200 ? true : undefined), 20_000, "readiness");
    expect(await probe(healthy, "/readyz")).toEqual({ status: 200, body: "ok\n" });
    expect(await probe(healthy, "/readyz", "HEAD")).toEqual({ status: 200, body: "" });
  });

  it("/readyz answers 503 naming the database when it cannot be written, while /healthz stays 200", async () => {
    const ready = await probe(noDatabase, "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/^not ready: .*the database is unavailable: .*(EEXIST|ENOTDIR)/);
    expect((await probe(noDatabase, "/healthz")).status).toBe(200);
  });

  it("refuse what is not GET or HEAD", async () => {
    expect((await probe(healthy, "/readyz", "POST")).status).toBe(405);
  });
});
