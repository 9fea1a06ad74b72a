import { loadConfig } from "../../src/server/config";
import { startServer, type RunningServer } from "../../src/server/http-server";
import { createLogger } from "../../src/server/logger";

/**
 * The real server in the test's own process, without the Next.js pages, on an ephemeral port,
 * recording simulated GPUs into `dbPath`: an exception or rejection no handler caught fails the
 * test run itself. Logs only errors.
 */
export function startApiServer(dbPath: string, env: { gpus: number; intervalMs: number }): Promise<RunningServer> {
  const config = loadConfig({
    PORT: "0",
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: String(env.gpus),
    NVOC_INTERVAL_MS: String(env.intervalMs),
    NVOC_DB_PATH: dbPath,
  });
  return startServer(config, createLogger("error", "json"), { pages: false });
}
