import http from "node:http";
import path from "node:path";
import { PROJECT_ROOT } from "./project-root";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import next from "next";
import { createAccessGate, SIGN_IN_PATH } from "./access/gate";
import { createSignIn } from "./access/sign-in";
import { Collector } from "./collector/collector";
import { GpuMemoryHealthReader } from "./collector/gpu-memory-health";
import { GpuProcesses } from "./collector/gpu-processes";
import { GpuXidErrors } from "./collector/gpu-xid-errors";
import type { Config } from "./config";
import type { Logger } from "./logger";
import { appRouter } from "./routers/_app";
import { METRICS_PATH, serveMetrics } from "./metrics/metrics-route";
import { createMetricsRegistry } from "./metrics/prometheus-metrics";
import { createLiveStream } from "./rest/live-stream";
import { isRestPath, isStreamPath, pathOf } from "./rest/paths";
import { createRestHandler } from "./rest/rest-handler";
import { compressed } from "./response-compression";
import { createSource } from "./sources/create-source";
import { applyHeaders, securityHeaders } from "./security-headers";
import { acquireInstanceLock } from "./storage/instance-lock";
import { StorageManager } from "./storage/storage-manager";
import { DEFAULT_WATER_MARKS } from "./storage/retention";
import { RecordsInFlight } from "./records-in-flight";
import { RefusedRequests } from "./refused-requests";
import { MAX_BATCH_CALLS, MAX_RECORDS_IN_FLIGHT } from "./request-limits";
import { createRequestContext, type Services } from "./trpc/context";
import { describeError, isBatchTooLarge, MAX_BODY_BYTES } from "./trpc/trpc";

/**
 * The one server process: Next's pages, the tRPC endpoint, the plain REST and
 * WebSocket API, the collector loop and the pruning timer share one module
 * graph, so there is exactly one collector and every subscriber sees the same stream.
 */

const TRPC_PREFIX = "/api/trpc/";

export interface RunningServer {
  services: Services;
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Serve the Next.js pages (tests of the API alone may leave them out). */
  pages?: boolean;
}

export async function startServer(config: Config, log: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const lock = acquireInstanceLock(config.dbPath);
  if (lock?.replaced) log.warn({ lock: lock.path, previousPid: lock.replaced.pid }, "took over the lock of an nvidia-oc that is no longer running");
  const storage = new StorageManager({
    dbPath: config.dbPath,
    policy: { retentionMs: config.retentionMs, maxBytes: config.maxDbBytes, ...DEFAULT_WATER_MARKS },
    pruneIntervalMs: config.pruneIntervalMs,
    log,
  });
  storage.open();
  storage.startPruning();

  const source = await createSource(config, log);
  const collector = new Collector({ source, storage, log, intervalMs: config.intervalMs });
  const indexOf = (uuid: string) => collector.gpus().find((g) => g.uuid === uuid)?.index ?? null;
  const processes = new GpuProcesses({ source, log, indexOf });
  const memoryHealth = new GpuMemoryHealthReader({ source, log, indexOf });
  const xidErrors = new GpuXidErrors({ source, indexOf });
  const recordsInFlight = new RecordsInFlight(MAX_RECORDS_IN_FLIGHT);
  const refusedRequests = new RefusedRequests(log);
  const services: Services = { config, collector, storage, processes, memoryHealth, xidErrors, recordsInFlight, refusedRequests, startedAt: Date.now() };

  const trpc = compressed(createHTTPHandler({
    router: appRouter,
    basePath: TRPC_PREFIX,
    maxBodySize: MAX_BODY_BYTES,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: (request) => createRequestContext(services, request),
    onError({ error, path: procedure, req }) {
      if (isBatchTooLarge(error)) refusedRequests.note("batch_calls", describeError(error, error.message), req.socket.remoteAddress);
      if (error.code === "INTERNAL_SERVER_ERROR") log.error({ procedure, err: error.cause?.message ?? error.message }, "tRPC procedure failed");
    },
  }));

  const rest = compressed(createRestHandler(services, log));
  const metrics = createMetricsRegistry({ ...services, source });
  const serveMetricsCompressed = compressed((req, res) => serveMetrics(metrics, req, res));
  const stream = createLiveStream(services, log);
  const pages = options.pages ?? true ? await prepareNext(config, log) : null;

  const access = { token: config.token, allowedOrigins: config.allowedOrigins, log };
  const gate = createAccessGate(access);
  const signIn = createSignIn(access);
  const headers = securityHeaders(config.dev);
  const server = http.createServer((req, res) => {
    applyHeaders(res, headers);
    if (!gate.admit(req, res)) return;
    const url = req.url ?? "/";
    if (pathOf(url) === SIGN_IN_PATH) return void signIn(req, res);
    if (url.startsWith(TRPC_PREFIX)) return trpc(req, res);
    if (isRestPath(url)) return rest(req, res);
    if (pathOf(url) === METRICS_PATH) return serveMetricsCompressed(req, res);
    if (pages) return pages.handle(req, res);
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  });
  server.on("upgrade", (req, socket, head) => {
    if (!gate.admitUpgrade(req, socket)) return;
    if (isStreamPath(req.url)) return stream.upgrade(req, socket, head);
    // Next's dev server keeps its hot-reload socket; nothing else upgrades.
    if (pages?.upgrade) return pages.upgrade(req, socket, head);
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const shownHost = config.host.includes(":") ? `[${config.host}]` : config.host;

  await collector.start();
  // The first scrape then finds the memory error counters already read.
  void memoryHealth.current();

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await collector.stop();
      // WebSocket clients hold their connections open: drop them before waiting on the server.
      await stream.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pages?.close();
      await storage.close();
      lock?.release();
    })());

  const url = `http://${shownHost}:${port}`;
  lock?.setUrl(url);
  return { services, url, port, close };
}

interface NextPages {
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  upgrade?: (req: http.IncomingMessage, socket: import("node:stream").Duplex, head: Buffer) => Promise<void>;
  close: () => Promise<void>;
}

async function prepareNext(config: Config, log: Logger): Promise<NextPages> {
  const app = next({ dev: config.dev, dir: PROJECT_ROOT, hostname: config.host, port: config.port });
  await app.prepare();
  const handle = app.getRequestHandler();
  log.debug({ dev: config.dev, dir: path.relative(process.cwd(), PROJECT_ROOT) || "." }, "pages ready");
  return {
    handle: (req, res) => handle(req, res),
    upgrade: config.dev ? app.getUpgradeHandler() : undefined,
    close: () => app.close(),
  };
}
