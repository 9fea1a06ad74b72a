import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ReusableBuffers } from "../../src/server/rest/reusable-buffers";

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A server answering each request with `length` bytes of one letter, written into a lent buffer. */
async function serve(buffers: ReusableBuffers, lent: Buffer[]) {
  let letter = 0;
  server = http.createServer((req, res) => {
    const length = Number(new URL(req.url!, "http://x").searchParams.get("length"));
    const bytes = buffers.take(length);
    lent.push(bytes);
    bytes.fill(0x61 + (letter++ % 26));
    res.writeHead(200, { "content-length": bytes.length });
    res.end(bytes);
    buffers.returnWhenSent(res, bytes);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const get = (url: string) =>
  new Promise<Buffer>((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      })
      .on("error", reject);
  });

describe("ReusableBuffers", () => {
  it("lends a sent answer's buffer to the next answer, each answer arriving whole", async () => {
    const lent: Buffer[] = [];
    const url = await serve(new ReusableBuffers({ keep: 2, maxBytes: 4 * 2 ** 20, idleReleaseMs: 60_000 }), lent);
    const first = await get(`${url}?length=800000`);
    const second = await get(`${url}?length=800100`);
    expect(first.equals(Buffer.alloc(800_000, "a"))).toBe(true);
    expect(second.equals(Buffer.alloc(800_100, "b"))).toBe(true);
    expect(lent[1].buffer === lent[0].buffer).toBe(true);
  });

  it("never lends one buffer to two answers at once", () => {
    const buffers = new ReusableBuffers({ keep: 2, maxBytes: 4 * 2 ** 20, idleReleaseMs: 60_000 });
    const a = buffers.take(100_000).fill(1);
    buffers.take(100_000).fill(2);
    expect(a.every((byte) => byte === 1)).toBe(true);
  });

  it("keeps no buffer over the limit", async () => {
    const lent: Buffer[] = [];
    const url = await serve(new ReusableBuffers({ keep: 2, maxBytes: 1_000_000, idleReleaseMs: 60_000 }), lent);
    await get(`${url}?length=2000000`);
    await get(`${url}?length=2000000`);
    expect(lent[1].buffer === lent[0].buffer).toBe(false);
  });

  it("lets the kept buffers go once none was taken for a while", async () => {
    const lent: Buffer[] = [];
    const buffers = new ReusableBuffers({ keep: 2, maxBytes: 4 * 2 ** 20, idleReleaseMs: 200 });
    const url = await serve(buffers, lent);
    await get(`${url}?length=800000`);
    await vi.waitFor(() => expect(buffers.bytes).toBe(1_000_000));
    await vi.waitFor(() => expect(buffers.bytes).toBe(0), { timeout: 5000 });
  });
});
