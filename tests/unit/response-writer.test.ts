import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { compressed } from "../../src/server/http/response-compression";
import { writerFor } from "../../src/server/rest/response-writer";

// 16 MB of random text: it barely compresses, so every 64 KB chunk overfills the compressor and waits
// for drain, and the answer is larger than what loopback socket buffers hold.
const CHUNKS = Array.from({ length: 256 }, () => crypto.randomBytes(48 * 1024).toString("base64"));
const TOTAL = CHUNKS.reduce((sum, chunk) => sum + chunk.length, 0);

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server streaming CHUNKS through writerFor; `done` says whether it got to the end. */
async function streamingServer() {
  let finished: (wroteAll: boolean) => void = () => {};
  const done = new Promise<boolean>((resolve) => (finished = resolve));
  const handle = compressed(async (_req, res) => {
    res.writeHead(200, { "content-type": "text/csv" });
    const write = writerFor(res);
    for (const chunk of CHUNKS) {
      if (!(await write(chunk))) return finished(false);
    }
    res.end();
    finished(true);
  });
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, done };
}

/**
 * A server writing CHUNKS as bytes into one buffer again whenever writerFor says the last write
 * released it, a new buffer otherwise; `reused` counts the writes into a released buffer.
 */
async function reusingServer() {
  let reused = 0;
  const handle = compressed(async (_req, res) => {
    res.writeHead(200, { "content-type": "text/csv" });
    const write = writerFor(res);
    let released: Buffer | undefined;
    for (const chunk of CHUNKS) {
      const bytes = released ?? Buffer.allocUnsafe(chunk.length);
      if (released) reused++;
      released = undefined;
      bytes.write(chunk, "latin1");
      if (!(await write(bytes, () => (released = bytes)))) return;
    }
    res.end();
  });
  server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, reused: () => reused };
}

function body(url: string, gzip: boolean): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    http
      .get(url, { headers: gzip ? { "accept-encoding": "gzip" } : {} }, (res) => {
        expect(res.headers["content-encoding"]).toBe(gzip ? "gzip" : undefined);
        const chunks: Buffer[] = [];
        const decoded = gzip ? res.pipe(zlib.createGunzip()) : res;
        decoded.on("data", (chunk: Buffer) => chunks.push(chunk));
        decoded.on("end", () => resolve(Buffer.concat(chunks).toString("latin1")));
        decoded.on("error", reject);
      })
      .on("error", reject);
  });
}

describe("writes to a long answer", () => {
  it("say when a held-back chunk has left the answer, so that its bytes can be written into again", async () => {
    const { url, reused } = await reusingServer();
    expect(await body(url, true)).toBe(CHUNKS.join(""));
    expect(await body(url, false)).toBe(CHUNKS.join(""));
    expect(reused()).toBeGreaterThan(CHUNKS.length);
  });

  it("wait for the compressor to drain and deliver every byte, without piling up listeners", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const { url, done } = await streamingServer();
      const body = await new Promise<string>((resolve, reject) => {
        http
          .get(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
            expect(res.headers["content-encoding"]).toBe("gzip");
            const chunks: Buffer[] = [];
            const gunzip = res.pipe(zlib.createGunzip());
            gunzip.on("data", (chunk: Buffer) => chunks.push(chunk));
            gunzip.on("end", () => resolve(Buffer.concat(chunks).toString()));
            gunzip.on("error", reject);
          })
          .on("error", reject);
      });
      expect(await done).toBe(true);
      expect(body.length).toBe(TOTAL);
      expect(body).toBe(CHUNKS.join(""));
      // Warnings are emitted on the next tick: let them arrive before judging.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("stop when the client goes away mid-answer", async () => {
    const { url, done } = await streamingServer();
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? resolve() : reject(error)));
    });
    expect(await done).toBe(false);
  });
});
