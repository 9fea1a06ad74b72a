import http from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrometheusClient, PrometheusUnavailable } from "../../src/server/fleet/prometheus-client";

/** A stand-in Prometheus on a loopback port: each path answers as the test says, and every request is kept. */
const seen: http.IncomingMessage[] = [];
let answer: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};
const server = http.createServer((req, res) => {
  seen.push(req);
  answer(req, res);
});
let url = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const silent = pino({ level: "silent" });
const json =
  (body: unknown, status = 200) =>
  (_req: http.IncomingMessage, res: http.ServerResponse) =>
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

async function failureOf(call: Promise<unknown>): Promise<PrometheusUnavailable> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof PrometheusUnavailable)) throw new Error(`expected PrometheusUnavailable, got ${String(error)}`);
  return error;
}

describe("the Prometheus client", () => {
  it("sends basic auth from the URL, or the bearer token, and never shows the credentials", async () => {
    answer = json({ status: "success", data: { resultType: "vector", result: [{ metric: { a: "b" }, value: [1700000000.5, "42"] }] } });
    const withUser = new PrometheusClient({ url: url.replace("http://", "http://ops:s3cret@"), token: null }, silent);
    expect(await withUser.instant("up")).toEqual([{ metric: { a: "b" }, value: { t: 1700000000500, v: 42 } }]);
    expect(seen.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from("ops:s3cret").toString("base64")}`);
    expect(withUser.shownUrl).toBe(url);
    await new PrometheusClient({ url, token: "t0k" }, silent).instant("up");
    expect(seen.at(-1)?.headers.authorization).toBe("Bearer t0k");
  });

  it("says when Prometheus does not answer in time", async () => {
    answer = () => {}; // never answers
    const client = new PrometheusClient({ url, token: null }, silent, 200);
    const failure = await failureOf(client.instant("up"));
    expect(failure).toMatchObject({ reason: "timeout", message: `Prometheus at ${url} did not answer within 0.2 s` });
    expect(client.failureCount()).toBe(1);
  });

  it("passes on Prometheus' own refusal, and names an answer that is not its API", async () => {
    const client = new PrometheusClient({ url, token: null }, silent);
    answer = json({ status: "error", errorType: "bad_data", error: 'parse error: unexpected "}"' }, 400);
    expect(await failureOf(client.instant("}"))).toMatchObject({
      reason: "refused",
      message: `Prometheus at ${url} refused the query: parse error: unexpected "}"`,
    });
    answer = (_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<html>Grafana</html>");
    expect((await failureOf(client.instant("up"))).message).toMatch(/answered HTTP 404 with something that is not its query API/);
    answer = json({ status: "success", data: { resultType: "matrix", result: [] } });
    expect((await failureOf(client.instant("up"))).message).toMatch(/answered in an unexpected shape/);
  });
});
