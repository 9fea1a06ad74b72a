import type http from "node:http";
import type { Collector } from "./collector/collector";
import type { StorageManager } from "./storage/storage-manager";

/**
 * Probes for systemd, Kubernetes and load balancers. They answer before the
 * access gate (no token, any Host: a kubelet addresses the pod by its IP) and so
 * say nothing but up or down, and in words what is wrong.
 */

export const LIVENESS_PATH = "/healthz";
export const READINESS_PATH = "/readyz";
/** A sample is expected within this many sampling intervals. */
const READY_WITHIN_INTERVALS = 3;

export const isProbePath = (path: string) => path === LIVENESS_PATH || path === READINESS_PATH;

/** What keeps the recorder from being ready; empty when it is. */
export function readinessProblems(collector: Collector, storage: StorageManager, now = Date.now()): string[] {
  const problems: string[] = [];
  const status = collector.status();
  const within = READY_WITHIN_INTERVALS * status.intervalMs;
  if (status.lastSampleAt === null) problems.push("no sample collected yet");
  else if (now - status.lastSampleAt > within)
    problems.push(`no sample collected for ${Math.round((now - status.lastSampleAt) / 1000)} s (expected every ${status.intervalMs} ms)`);
  const database = storage.status();
  if (!database.available) problems.push(`the database is unavailable${database.error ? `: ${database.error}` : ""}`);
  else if (status.writesFailingSince !== null) problems.push(`writing to the database fails: ${status.lastError ?? "unknown error"}`);
  return problems;
}

export interface ProbedServices {
  collector: Collector;
  storage: StorageManager;
}

/**
 * Answers /healthz (the process answers: 200) and /readyz (200, or 503 naming
 * each problem); `services` is null while the server is still starting.
 */
export function serveProbe(path: string, req: http.IncomingMessage, res: http.ServerResponse, services: ProbedServices | null) {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" }).end("use GET or HEAD\n");
    return;
  }
  const problems =
    path !== READINESS_PATH ? [] : services === null ? ["starting"] : readinessProblems(services.collector, services.storage);
  const body = problems.length === 0 ? "ok\n" : `not ready: ${problems.join("; ")}\n`;
  res.writeHead(problems.length === 0 ? 200 : 503, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
  });
  res.end(req.method === "HEAD" ? undefined : body);
}
