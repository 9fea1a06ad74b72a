import type http from "node:http";
import type { Registry } from "prom-client";

export const METRICS_PATH = "/metrics";

/** Prometheus scrapes: GET only; a failed collection is a 500 with its reason, logged by Prometheus as a failed scrape. */
export async function serveMetrics(registry: Registry, req: http.IncomingMessage, res: http.ServerResponse) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("use GET\n");
    return;
  }
  try {
    const text = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : text);
  } catch (error) {
    res
      .writeHead(500, { "content-type": "text/plain; charset=utf-8" })
      .end(`collecting metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
  }
}
