import { ConfigError, loadConfig } from "./config";
import { isLoopbackHost } from "../telemetry/loopback-host";
import { formatBytes } from "../telemetry/format-bytes";
import { createLogger } from "./logger";
import { startServer } from "./http-server";
import { ListenError } from "./http/listen";
import { InstanceLockedError } from "./storage/instance-lock";
import { tuneHeap } from "./heap-tuning";

/** `npm start`: the recorder, the API and the dashboard in one process. */

const SHUTDOWN_DEADLINE_MS = 5000;

async function main() {
  tuneHeap();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`nvidia-oc: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  const log = createLogger(config.logLevel, config.logFormat);
  process.env.NEXT_TELEMETRY_DISABLED = "1";
  // Signals are heard from the start: one that comes while the server starts is acted on once it has,
  // instead of killing the process half-way (lock and pending samples left behind).
  let requestedStop: string | null = null;
  let onSignal = (signal: string) => void (requestedStop ??= signal);
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  let server;
  try {
    server = await startServer(config, log);
  } catch (error) {
    if (error instanceof ConfigError) {
      log.fatal(error.message);
      console.error(`nvidia-oc: ${error.message}`);
      process.exit(2);
    }
    // Something outside this process is in the way: one line saying which setting to change, no stack.
    if (error instanceof InstanceLockedError || error instanceof ListenError) {
      log.fatal(error.message);
      console.error(`nvidia-oc: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const { services } = server;
  if (config.token !== null) log.info("access: every request needs NVOC_TOKEN (Bearer header, or sign in at /signin)");
  else if (!isLoopbackHost(config.host))
    log.warn(
      { host: config.host },
      "access: anyone who can reach this address can read the telemetry and prune it (NVOC_ALLOW_UNAUTHENTICATED=1)",
    );
  const source = services.collector.status().source;
  const db = services.storage.status();
  log.info(
    {
      url: server.url,
      source: source.kind,
      sourceDetail: source.detail,
      synthetic: source.synthetic,
      dbPath: db.path,
      dbBytes: db.fileBytes,
      dbAvailable: db.available,
    },
    `nvidia-oc listening on ${server.url} (source: ${source.detail}; database: ${db.path}, ${formatBytes(db.fileBytes, "unavailable")})`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down: stopping sampling and flushing");
    const deadline = setTimeout(() => {
      log.error("shutdown took too long; exiting");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    await server.close();
    const status = services.collector.status();
    log.info({ collected: status.collected, stored: status.stored, dropped: status.dropped, pending: status.pending }, "stopped");
    process.exit(0);
  };
  onSignal = (signal) => void stop(signal);
  if (requestedStop !== null) onSignal(requestedStop);
}

main().catch((error) => {
  console.error("nvidia-oc failed to start:", error);
  process.exit(1);
});
