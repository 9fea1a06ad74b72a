import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { Duplex } from "node:stream";
import { PROJECT_ROOT } from "./project-root";
import { createHTTPHandler } from "@trpc/server/adapters/standalone";
import next from "next";
import { createAccessGate, SIGN_IN_PATH } from "./http/access/gate";
import { createHostAllowList } from "./http/access/host-allow-list";
import { createSignIn } from "./http/access/sign-in";
import { Collector } from "./collector/collector";
import { MemoryErrorReader } from "./collector/memory-error-reader";
import { ProcessReader, type ProcessListing } from "./collector/process-reader";
import { XidErrorReader } from "./collector/xid-error-reader";
import { ConfigError, type Config } from "./config";
import { listen } from "./http/listen";
import type { Logger } from "./logger";
import { appRouter } from "./routers/_app";
import { isProbePath, serveProbe, type ProbedServices } from "./health-probes";
import { METRICS_PATH, serveMetrics } from "./metrics/metrics-route";
import { createMetricsRegistry } from "./metrics/prometheus-metrics";
import { reachableUrl, registerInfoMetric } from "./metrics/info-metric";
import { PrometheusClient } from "./fleet/prometheus-client";
import { RestError, refuseUpgrade, sendError } from "./http/errors";
import { createLiveStream } from "./rest/live-stream";
import { isRestPath, isStreamPath, pathOf, STREAM_PATH } from "./http/paths";
import { createRestHandler } from "./rest/rest-handler";
import { guardRequests, guardUpgrades } from "./http/request-guard";
import { compressed } from "./http/response-compression";
import { createSource } from "./sources/create-source";
import { applyHeaders, securityHeaders } from "./http/security-headers";
import { StorageManager } from "./storage/storage-manager";
import { DEFAULT_WATER_MARKS } from "./storage/retention";
import { capTooSmall, unsealedRowsPerGpu, walLimitBytes } from "./storage/size-budget";
import { DEFAULT_STORE_OPTIONS } from "./storage/telemetry-store";
import { RecordsInFlight } from "./records-in-flight";
import { warmReadPath } from "./warm-read-path";
import { RefusedRequests } from "./refused-requests";
import { MAX_BATCH_CALLS, MAX_RECORDS_IN_FLIGHT } from "../telemetry/request-limits";
import { createRequestContext, type Services } from "./trpc/context";
import { describeError, isBatchTooLarge, MAX_BODY_BYTES } from "./trpc/trpc";
import { createQueryAnswers } from "./trpc/query-answers";
import type { TRPCError } from "@trpc/server";

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

/** Long enough for a slow client on a slow link, short enough that a silent connection is not held for minutes. */
const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;

type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => unknown;
type UpgradeHandler = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => unknown;

export async function startServer(config: Config, log: Logger, options: ServerOptions = {}): Promise<RunningServer> {
  const newFolders = missingFolders(path.dirname(config.dbPath));
  // What a start that fails half-way has to undo, newest first: it leaves no lock, no open database, no bound
  // port, and no folder it made for them that is still empty.
  const undo: Array<() => unknown> = [() => removeEmptyFolders(newFolders)];
  try {
    return await startInSteps(config, log, options, undo);
  } catch (error) {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (cleanup) {
        log.warn({ err: cleanup instanceof Error ? cleanup.message : String(cleanup) }, "cleaning up after a failed start failed");
      }
    }
    throw error;
  }
}

async function startInSteps(config: Config, log: Logger, options: ServerOptions, undo: Array<() => unknown>): Promise<RunningServer> {
  const hosts = createHostAllowList({ host: config.host, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins });
  const access = { token: config.token, allowedOrigins: config.allowedOrigins, hosts, log };
  const gate = createAccessGate(access);
  const headers = securityHeaders(config.dev);
  // Until everything below is ready, requests are told to come back; the port is taken first so that a port
  // in use stops the start before anything (the database file included) has been created.
  let route: RequestHandler = (_req, res) => sendError(res, STARTING, { "retry-after": "1" });
  let routeUpgrade: UpgradeHandler = (_req, socket) => refuseUpgrade(socket, STARTING, { "Retry-After": "1" });
  // Probes come before the gate: a kubelet sends no token and addresses the pod by its IP.
  let probed: ProbedServices | null = null;
  const server = http.createServer(
    guardRequests(log, (req, res) => {
      applyHeaders(res, headers);
      const path = pathOf(req.url);
      if (isProbePath(path)) return serveProbe(path, req, res, probed);
      if (gate.admit(req, res)) return route(req, res);
    }),
  );
  server.on(
    "upgrade",
    guardUpgrades(log, (req, socket, head) => {
      if (gate.admitUpgrade(req, socket)) return routeUpgrade(req, socket, head);
    }),
  );
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  await listen(server, config.port, config.host);
  undo.push(() => closeServer(server));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const shownHost = config.host.includes(":") ? `[${config.host}]` : config.host;

  // A replayed file brings its own spacing, unknown until read.
  const sampleSpacingMs = config.source.kind === "replay" ? null : config.intervalMs;
  const rowsUnsealed = unsealedRowsPerGpu(DEFAULT_STORE_OPTIONS, sampleSpacingMs);
  const storage = new StorageManager({
    dbPath: config.dbPath,
    policy: {
      retentionMs: config.retentionMs,
      maxBytes: config.maxDbBytes,
      ...DEFAULT_WATER_MARKS,
      walBytes: walLimitBytes(config.maxDbBytes),
      unsealedRowsPerGpu: rowsUnsealed,
    },
    pruneIntervalMs: config.pruneIntervalMs,
    log,
  });
  // A database another recorder holds stops this start; one that cannot be had yet is retried.
  storage.open({ refuseIfLocked: true });
  undo.push(() => storage.close());
  storage.startPruning();

  const source = await createSource(config, log);
  // The reader needs the collector's GPU indexes, the collector the reader's listings (only once started).
  const collector: Collector = new Collector({
    source,
    storage,
    log,
    intervalMs: config.intervalMs,
    processes: { current: (): Promise<ProcessListing> => processes.current() },
  });
  const indexOf = (uuid: string): number | null => collector.gpus().find((g) => g.uuid === uuid)?.index ?? null;
  const processes = new ProcessReader({ source, log, indexOf, commandLines: config.recordCommandLines });
  const memoryHealth = new MemoryErrorReader({ source, log, indexOf });
  const xidErrors = new XidErrorReader({ source, indexOf });
  const recordsInFlight = new RecordsInFlight(MAX_RECORDS_IN_FLIGHT);
  const refusedRequests = new RefusedRequests(log);
  const services: Services = {
    config,
    collector,
    storage,
    processes,
    memoryHealth,
    xidErrors,
    recordsInFlight,
    refusedRequests,
    startedAt: Date.now(),
    prometheus: config.prometheus === null ? null : new PrometheusClient(config.prometheus, log),
  };

  const trpcOptions = {
    router: appRouter,
    basePath: TRPC_PREFIX,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: (request: Parameters<typeof createRequestContext>[1]) => createRequestContext(services, request),
    onError({ error, path: procedure, req }: { error: TRPCError; path: string | undefined; req: http.IncomingMessage }) {
      if (isBatchTooLarge(error)) refusedRequests.note("batch_calls", describeError(error, error.message), req.socket.remoteAddress);
      if (error.code === "INTERNAL_SERVER_ERROR")
        log.error({ procedure, err: error.cause?.message ?? error.message }, "tRPC procedure failed");
    },
  };
  // Queries asked over GET are answered by query-answers.ts; the rest by tRPC's own adapter.
  const trpcAdapter = createHTTPHandler({ ...trpcOptions, maxBodySize: MAX_BODY_BYTES });
  const queryAnswers = createQueryAnswers(trpcOptions);
  const trpc = compressed((req, res) => queryAnswers(req, res) ?? trpcAdapter(req, res));

  const rest = compressed(createRestHandler(services, log));
  const metrics = createMetricsRegistry({ ...services, source });
  registerInfoMetric(metrics, config.publicUrl ?? reachableUrl(config.host, port));
  const serveMetricsCompressed = compressed((req, res) => serveMetrics(metrics, req, res));
  const stream = createLiveStream(services, log);
  undo.push(() => stream.close());
  const pages = (options.pages ?? true) ? await prepareNext(config, log) : null;
  if (pages) undo.push(() => pages.close());
  const signIn = createSignIn(access);

  probed = services;
  route = (req, res) => {
    const url = req.url ?? "/";
    if (pathOf(url) === SIGN_IN_PATH) return signIn(req, res);
    if (url.startsWith(TRPC_PREFIX)) return trpc(req, res);
    if (isRestPath(url)) return rest(req, res);
    if (pathOf(url) === METRICS_PATH) return serveMetricsCompressed(req, res);
    if (pages) return pages.handle(req, res);
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  };
  routeUpgrade = (req, socket, head) => {
    if (isStreamPath(req.url)) return stream.upgrade(req, socket, head);
    // Next's dev server keeps its hot-reload socket; nothing else upgrades.
    if (pages?.upgrade) return pages.upgrade(req, socket, head);
    refuseUpgrade(socket, NO_WEBSOCKET_HERE);
  };

  undo.push(() => collector.stop());
  await collector.start();
  // The first scrape then finds the memory error counters already read.
  void memoryHealth.current();

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await collector.stop();
      // WebSocket clients hold their connections open: drop them before waiting on the server.
      await stream.close();
      await closeServer(server);
      await pages?.close();
      await storage.close();
    })());

  // The GPUs are known once the source has started (a replay's only as its file is read).
  const capProblem = capTooSmall(
    config.maxDbBytes,
    { gpus: Math.max(1, collector.gpus().length), unsealedRowsPerGpu: rowsUnsealed, lowWater: DEFAULT_WATER_MARKS.lowWater },
    sampleSpacingMs === null ? "replaying a file at its own pace" : `sampled every ${sampleSpacingMs} ms`,
  );
  // Thrown, the steps taken so far are undone, the database closed and its lock released with them.
  if (capProblem) throw new ConfigError([capProblem]);

  // Before the start is announced: a client that waits for it finds the newest history read and compiled.
  await warmReadPath(services, log);
  const url = `http://${shownHost}:${port}`;
  storage.advertise(url);
  return { services, url, port, close };
}

/** The folders, deepest first, that creating `folder` would make. */
function missingFolders(folder: string): string[] {
  const missing: string[] = [];
  for (let at = path.resolve(folder); !fs.existsSync(at) && path.dirname(at) !== at; at = path.dirname(at)) missing.push(at);
  return missing;
}

/** Deepest first, so that a folder emptied by removing the one inside it goes too. */
function removeEmptyFolders(folders: string[]) {
  for (const folder of folders) {
    if (fs.existsSync(folder) && fs.readdirSync(folder).length === 0) fs.rmdirSync(folder);
  }
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const NO_WEBSOCKET_HERE = new RestError(404, "NOT_FOUND", `no WebSocket here: the live stream is at ${STREAM_PATH}`);
const STARTING = new RestError(503, "SERVICE_UNAVAILABLE", "nvidia-oc is starting; try again in a moment");

interface NextPages {
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;
  upgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>;
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
