import path from "node:path";
import { startDcgmExporterStandIn } from "./dcgm-exporter-stand-in";
import { startPrometheusProcess, type PrometheusServer, scrapeConfig } from "./prometheus-process";
import { startServerProcess, type ServerProcess, waitFor } from "./server-process";

/**
 * Two simulated recorders with different GPU counts (and, when asked, a
 * dcgm-exporter host), a real Prometheus scraping them every second, and a third nvidia-oc whose Fleet page reads that Prometheus.
 */

export interface Fleet {
  small: ServerProcess;
  large: ServerProcess;
  /** The dcgm-exporter stand-in's host:port, when asked for. */
  dcgmExporter: string | null;
  prometheus: PrometheusServer;
  /** The dashboard with NVOC_PROMETHEUS_URL set. */
  viewer: ServerProcess;
  stop(): Promise<void>;
}

export const SMALL_GPUS = 2;
export const LARGE_GPUS = 3;

/** Where the large recorder says it is reached (NVOC_PUBLIC_URL); the small one names the address it listens on. */
export const LARGE_PUBLIC_URL = "https://gpu-large.example.org:8443";

const recorder = (dir: string, name: string, gpus: number, env: Record<string, string> = {}) =>
  startServerProcess({
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: String(gpus),
    NVOC_INTERVAL_MS: "500",
    NVOC_DB_PATH: path.join(dir, name, "telemetry.db"),
    ...env,
  });

/** The scrape target a recorder is to Prometheus: its host:port, the `instance` label. */
export const instanceOf = (server: ServerProcess) => new URL(server.url).host;

export interface FleetOptions {
  /** Also a host running dcgm-exporter (a stand-in serving its /metrics) with one GPU, scraped as job dcgm-exporter. */
  dcgmExporter?: boolean;
}

export async function startFleet(dir: string, options: FleetOptions = {}): Promise<Fleet> {
  const [small, large, dcgm] = await Promise.all([
    recorder(dir, "small", SMALL_GPUS),
    recorder(dir, "large", LARGE_GPUS, { NVOC_PUBLIC_URL: LARGE_PUBLIC_URL }),
    options.dcgmExporter ? startDcgmExporterStandIn() : null,
  ]);
  const prometheus = await startPrometheusProcess({
    dir: path.join(dir, "tsdb"),
    config: scrapeConfig({ "nvidia-oc": [instanceOf(small), instanceOf(large)], ...(dcgm ? { "dcgm-exporter": [dcgm.host] } : {}) }),
  });
  const gpus = SMALL_GPUS + LARGE_GPUS + (dcgm ? 1 : 0);
  const viewer = await startServerProcess({
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: "1",
    NVOC_DB_PATH: path.join(dir, "viewer", "telemetry.db"),
    NVOC_PROMETHEUS_URL: prometheus.url,
  });
  // Both targets scraped at least once with every GPU in them.
  await waitFor(
    async () => {
      const answer = (await (
        await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent("count(DCGM_FI_DEV_GPU_TEMP)")}`)
      ).json()) as { data: { result: Array<{ value: [number, string] }> } };
      return answer.data.result[0]?.value[1] === String(gpus) ? true : undefined;
    },
    60_000,
    "Prometheus to hold every GPU of every target",
  );
  return {
    small,
    large,
    dcgmExporter: dcgm?.host ?? null,
    prometheus,
    viewer,
    stop: async () => {
      await Promise.all([small.stop(), large.stop(), viewer.stop(), prometheus.stop(), dcgm?.stop()]);
    },
  };
}
