import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { recordJsonCacheBytes } from "../rest/records-json";
import { answerBufferBytes } from "../rest/rest-handler";
import type { Collector } from "../collector/collector";
import type { MemoryErrorReader } from "../collector/memory-error-reader";
import type { ProcessReader } from "../collector/process-reader";
import type { RefusedRequests } from "../refused-requests";
import type { GpuSource } from "../sources/source";
import type { StorageManager } from "../storage/storage-manager";
import { registerUsageMetrics } from "./usage-metrics";
import { registerDcgmFamilies } from "./dcgm-families";
import { registerComputeAppFamilies } from "./nvidia-smi-compute-apps";
import { registerNvidiaSmiFamilies } from "./nvidia-smi-families";
import { createScrapeView, GPU_LABELS, sharedEnergy } from "./scrape-view";

/** How often the event loop's lag is sampled for nodejs_eventloop_lag_*. */
const EVENT_LOOP_LAG_RESOLUTION_MS = 100;

/**
 * The newest readings in Prometheus' text format under the names of the two
 * exporters GPU dashboards are built for (dcgm-families.ts, nvidia-smi-families.ts),
 * plus the recorder's own health. Values are read from the collector at scrape time.
 */

export interface MetricsSources {
  collector: Collector;
  storage: StorageManager;
  /** Memory error counters, shared with the API (asked of the source at most every ten seconds, never waited on). */
  memoryHealth: MemoryErrorReader;
  /** The processes on each GPU, shared with the API (listed at most every two seconds, never waited on). */
  processes: ProcessReader;
  /** Asked directly for what is too slow to read every tick (the energy counter). */
  source: GpuSource;
  refusedRequests: RefusedRequests;
}

export function createMetricsRegistry({ collector, storage, memoryHealth, processes, source, refusedRequests }: MetricsSources): Registry {
  const registry = new Registry();
  const view = createScrapeView({ collector, memoryHealth, source });
  const energy = sharedEnergy(source, view);
  registerDcgmFamilies(registry, view, energy);
  registerNvidiaSmiFamilies(registry, view, energy);
  registerComputeAppFamilies(registry, view, () => processes.latest(), source.processes !== undefined);

  new Gauge({
    name: "nvoc_gpu_up",
    help: "1 while the GPU reports readings, 0 while it is stale (silent) or lost (the driver answers with an error).",
    labelNames: [...GPU_LABELS, "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, state } of view().gpus) this.set({ ...labels, state: state.state }, state.state === "reporting" ? 1 : 0);
    },
  });

  registerUsageMetrics(registry, collector);

  // Counts kept by the collector, mirrored at scrape time.
  const mirrored = (name: string, help: string, read: () => number) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  mirrored("nvoc_samples_total", "Samples collected from the source (one per GPU per tick).", () => collector.status().collected);
  mirrored("nvoc_samples_stored_total", "Samples written to the database.", () => collector.status().stored);
  mirrored(
    "nvoc_samples_dropped_total",
    "Samples dropped because the pending buffer was full while writes failed.",
    () => collector.status().dropped,
  );
  mirrored("nvoc_write_failures_total", "Database writes that failed (each is retried).", () => collector.status().writeFailures);
  mirrored("nvoc_source_restarts_total", "Times the source process was restarted.", () => collector.status().source.restarts);
  mirrored(
    "nvoc_values_rejected_total",
    "Readings stored as missing because storage cannot hold them exactly (not finite, negative, beyond 2^53).",
    () => collector.status().rejectedValues,
  );
  mirrored(
    "nvoc_source_bad_lines_total",
    "Source output lines that could not be parsed and were skipped.",
    () => collector.status().source.badLines,
  );

  new Counter({
    name: "nvoc_api_requests_refused_total",
    help: "API requests refused for asking more work than one request may; `limit` names the limit (batch_calls, records, series_values).",
    labelNames: ["limit"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [limit, count] of refusedRequests.totals()) this.inc({ limit }, count);
    },
  });

  new Gauge({
    name: "nvoc_source_up",
    help: "1 while the GPU source runs, 0 otherwise; `source` names it (nvidia-smi, simulated, replay).",
    labelNames: ["source", "synthetic"],
    registers: [registry],
    collect() {
      this.reset();
      const source = collector.status().source;
      this.set({ source: source.kind, synthetic: String(source.synthetic) }, source.running ? 1 : 0);
    },
  });
  new Gauge({
    name: "nvoc_samples_pending",
    help: "Samples collected and not yet written.",
    registers: [registry],
    collect() {
      this.set(collector.status().pending);
    },
  });
  new Gauge({
    name: "nvoc_db_size_bytes",
    help: "Size of the database file (with its write-ahead log); absent while the database is unavailable.",
    // Labelled, so that an unknown size leaves the series out instead of exporting 0.
    labelNames: ["path"],
    registers: [registry],
    collect() {
      this.reset();
      const { fileBytes, path } = storage.status();
      if (fileBytes !== null) this.set({ path }, fileBytes);
    },
  });
  new Gauge({
    name: "nvoc_db_max_bytes",
    help: "Size cap of the database file (NVOC_MAX_DB_MB).",
    registers: [registry],
    collect() {
      this.set(storage.status().maxBytes);
    },
  });
  new Gauge({
    name: "nvoc_db_quarantined_rows",
    help: "Samples set aside because they could not be written as they were; absent while the database is unavailable.",
    registers: [registry],
    collect() {
      this.reset();
      const { quarantinedRows } = storage.status();
      if (quarantinedRows !== null) this.set(quarantinedRows);
    },
  });
  new Gauge({
    name: "nvoc_db_up",
    help: "1 while the database is open and writable, 0 while it is unavailable (the server retries).",
    registers: [registry],
    collect() {
      this.set(storage.status().available ? 1 : 0);
    },
  });

  new Gauge({
    name: "nvoc_cache_bytes",
    help: "Estimated bytes held by each in-memory cache (decoded chunks, decoded chart columns, chart buckets, records' JSON, answer buffers); each has a fixed budget.",
    labelNames: ["cache"],
    registers: [registry],
    collect() {
      this.reset();
      const store = storage.store;
      if (store) {
        this.set({ cache: "decoded_chunks" }, store.decodedBytes());
        this.set({ cache: "decoded_columns" }, store.decodedColumnBytes());
        this.set({ cache: "series_buckets" }, store.seriesBucketBytes());
      }
      this.set({ cache: "record_json" }, recordJsonCacheBytes());
      this.set({ cache: "answer_buffers" }, answerBufferBytes());
    },
  });

  // The standard process_* and nodejs_* families, which generic process dashboards and alerts look for.
  // The event-loop lag is sampled every 100 ms, not prom-client's 10: its timer woke the loop 100
  // times a second, which cost more CPU than recording 8 GPUs (bench/RESULTS.md).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_LAG_RESOLUTION_MS });
  // The two process figures a recorder's cost is judged by, under the recorder's own prefix.
  new Counter({
    name: "nvoc_process_cpu_seconds_total",
    help: "CPU time of this process, user and system (seconds).",
    registers: [registry],
    collect() {
      const { user, system } = process.cpuUsage();
      this.reset();
      this.inc((user + system) / 1e6);
    },
  });
  new Gauge({
    name: "nvoc_process_resident_memory_bytes",
    help: "Resident memory of this process (bytes).",
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss());
    },
  });
  return registry;
}
