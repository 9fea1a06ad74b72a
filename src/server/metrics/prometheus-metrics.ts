import os from "node:os";
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { recordJsonCacheBytes } from "../rest/records-json";
import { answerBufferBytes } from "../rest/rest-handler";
import type { Collector } from "../collector/collector";
import type { MemoryErrorReader } from "../collector/memory-error-reader";
import type { RefusedRequests } from "../refused-requests";
import type { GpuSource } from "../sources/source";
import { METRIC_CATALOGUE, type MetricDefinition, type MetricKey } from "../../telemetry/metric-catalogue";
import type { GpuMemoryHealth, GpuMetrics, GpuSample } from "../../telemetry/types";
import type { StorageManager } from "../storage/storage-manager";
import { registerUsageMetrics } from "./usage-metrics";

/**
 * The newest readings in Prometheus' text format under dcgm-exporter's metric
 * names and labels, so NVIDIA's DCGM Grafana dashboard (12239) and alert rules
 * written for dcgm-exporter work unchanged, plus the recorder's own health.
 * Values are read from the collector at scrape time; a value the GPU does not
 * report (NULL) is left out, never exported as 0, and a GPU that stopped
 * reporting exports no readings at all.
 */

type DcgmField = {
  name: string;
  help: string;
  value: (sample: GpuMetrics) => number | null;
};

/**
 * Names, meanings and units as dcgm-exporter's default counters define them: each
 * catalogue metric that declares a Prometheus name, and free memory, which is derived.
 */
const DCGM_FIELDS: DcgmField[] = [
  ...(METRIC_CATALOGUE as readonly MetricDefinition[]).flatMap(({ key, prometheus }) =>
    prometheus ? [{ ...prometheus, value: (s: GpuMetrics) => s[key as MetricKey] }] : [],
  ),
  {
    name: "DCGM_FI_DEV_FB_FREE",
    help: "Framebuffer memory free (in MiB).",
    // Total minus used: the driver's reserved memory counts as free here.
    value: (s) => (s.memoryTotalMib === null || s.memoryUsedMib === null ? null : s.memoryTotalMib - s.memoryUsedMib),
  },
];

const GPU_LABELS = ["gpu", "UUID", "device", "modelName", "Hostname"] as const;
type GpuLabels = Record<(typeof GPU_LABELS)[number], string>;

type MemoryHealthField = {
  name: string;
  help: string;
  kind: "counter" | "gauge";
  value: (health: GpuMemoryHealth) => number | boolean | null;
};

/** dcgm-exporter's memory error fields (ECC, row remapping, page retirement), with its names, meanings and types. */
const DCGM_MEMORY_FIELDS: MemoryHealthField[] = [
  {
    name: "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL",
    help: "Total number of single-bit volatile ECC errors.",
    kind: "counter",
    value: (h) => h.eccCorrectedVolatile,
  },
  {
    name: "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
    help: "Total number of double-bit volatile ECC errors.",
    kind: "counter",
    value: (h) => h.eccUncorrectedVolatile,
  },
  {
    name: "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL",
    help: "Total number of single-bit persistent ECC errors.",
    kind: "counter",
    value: (h) => h.eccCorrectedAggregate,
  },
  {
    name: "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL",
    help: "Total number of double-bit persistent ECC errors.",
    kind: "counter",
    value: (h) => h.eccUncorrectedAggregate,
  },
  {
    name: "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
    help: "Number of remapped rows for correctable errors.",
    kind: "counter",
    value: (h) => h.remappedRowsCorrectable,
  },
  {
    name: "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
    help: "Number of remapped rows for uncorrectable errors.",
    kind: "counter",
    value: (h) => h.remappedRowsUncorrectable,
  },
  { name: "DCGM_FI_DEV_ROW_REMAP_FAILURE", help: "Whether remapping of rows has failed.", kind: "gauge", value: (h) => h.rowRemapFailure },
  {
    name: "DCGM_FI_DEV_ROW_REMAP_PENDING",
    help: "Whether remapping of rows is pending (a GPU reset applies it).",
    kind: "gauge",
    value: (h) => h.rowRemapPending,
  },
  {
    name: "DCGM_FI_DEV_RETIRED_SBE",
    help: "Total number of retired pages due to single-bit errors.",
    kind: "counter",
    value: (h) => h.retiredPagesSingleBit,
  },
  {
    name: "DCGM_FI_DEV_RETIRED_DBE",
    help: "Total number of retired pages due to double-bit errors.",
    kind: "counter",
    value: (h) => h.retiredPagesDoubleBit,
  },
];

export interface MetricsSources {
  collector: Collector;
  storage: StorageManager;
  /** Memory error counters, shared with the API (asked of the source at most every ten seconds, never waited on). */
  memoryHealth: MemoryErrorReader;
  /** Asked directly for what is too slow to read every tick (the energy counter). */
  source: GpuSource;
  refusedRequests: RefusedRequests;
}

export function createMetricsRegistry({ collector, storage, memoryHealth, source, refusedRequests }: MetricsSources): Registry {
  const registry = new Registry();
  const hostname = os.hostname();

  /** dcgm-exporter's labels of every GPU this recorder knows, by uuid. */
  const labelsByUuid = (): Map<string, GpuLabels> => {
    const names = new Map(collector.gpus().map((g) => [g.uuid, g.name]));
    return new Map(
      collector.status().gpus.map((gpu) => [
        gpu.uuid,
        {
          gpu: String(gpu.index),
          UUID: gpu.uuid,
          device: `nvidia${gpu.index}`,
          modelName: names.get(gpu.uuid) ?? "",
          Hostname: hostname,
        },
      ]),
    );
  };

  /** The newest sample of every GPU that is still reporting, with its labels. */
  const reporting = (): Array<{ labels: GpuLabels; sample: GpuSample }> => {
    const latest = collector.latest();
    if (!latest) return [];
    const reportingUuids = new Set(
      collector
        .status()
        .gpus.filter((g) => g.state === "reporting")
        .map((g) => g.uuid),
    );
    const labels = labelsByUuid();
    return latest.samples.flatMap((sample) => {
      const gpuLabels = labels.get(sample.uuid);
      return reportingUuids.has(sample.uuid) && gpuLabels ? [{ sample, labels: gpuLabels }] : [];
    });
  };

  for (const field of DCGM_FIELDS) {
    new Gauge({
      name: field.name,
      help: field.help,
      labelNames: GPU_LABELS,
      registers: [registry],
      collect() {
        this.reset();
        for (const { labels, sample } of reporting()) {
          const value = field.value(sample);
          if (value !== null && Number.isFinite(value)) this.set(labels, value);
        }
      },
    });
  }

  // A counter in dcgm-exporter too; only the NVML source can read it, at a few milliseconds per GPU.
  new Counter({
    name: "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    help: "Total energy consumption since boot (in mJ).",
    labelNames: GPU_LABELS,
    registers: [registry],
    async collect() {
      this.reset();
      if (!source.totalEnergyMj) return;
      const energy = await source.totalEnergyMj();
      for (const { labels, sample } of reporting()) {
        const millijoules = energy.get(sample.uuid);
        if (millijoules !== undefined) this.inc(labels, millijoules);
      }
    },
  });

  /**
   * The field's value for every GPU that reports it, booleans as 0 and 1, from the
   * last listing: a scrape never waits on a one-shot nvidia-smi query.
   */
  const memoryValues = (field: MemoryHealthField) => {
    const labels = labelsByUuid();
    const found: Array<[GpuLabels, number]> = [];
    for (const health of memoryHealth.latest()?.gpus ?? []) {
      const value = field.value(health);
      const gpuLabels = labels.get(health.gpuUuid);
      if (value !== null && gpuLabels !== undefined) found.push([gpuLabels, Number(value)]);
    }
    return found;
  };
  for (const field of DCGM_MEMORY_FIELDS) {
    const definition = { name: field.name, help: field.help, labelNames: GPU_LABELS, registers: [registry] };
    if (field.kind === "counter") {
      new Counter({
        ...definition,
        collect() {
          this.reset();
          for (const [labels, value] of memoryValues(field)) this.inc(labels, value);
        },
      });
    } else {
      new Gauge({
        ...definition,
        collect() {
          this.reset();
          for (const [labels, value] of memoryValues(field)) this.set(labels, value);
        },
      });
    }
  }

  new Gauge({
    name: "DCGM_FI_DEV_XID_ERRORS",
    help: "Value of the last XID error encountered.",
    labelNames: GPU_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      const labels = labelsByUuid();
      // Oldest first: each GPU ends at its newest.
      for (const event of source.xidErrors?.() ?? []) {
        const gpuLabels = labels.get(event.gpuUuid);
        if (gpuLabels) this.set(gpuLabels, event.xid);
      }
    },
  });

  new Gauge({
    name: "nvoc_gpu_up",
    help: "1 while the GPU reports readings, 0 while it is stale (silent) or lost (the driver answers with an error).",
    labelNames: [...GPU_LABELS, "state"],
    registers: [registry],
    collect() {
      this.reset();
      const labels = labelsByUuid();
      for (const gpu of collector.status().gpus) {
        const gpuLabels = labels.get(gpu.uuid);
        if (gpuLabels) this.set({ ...gpuLabels, state: gpu.state }, gpu.state === "reporting" ? 1 : 0);
      }
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
    help: "Estimated bytes held by each in-memory cache (decoded chunks, records' JSON, answer buffers); each has a fixed budget.",
    labelNames: ["cache"],
    registers: [registry],
    collect() {
      this.reset();
      const store = storage.store;
      if (store) this.set({ cache: "decoded_chunks" }, store.decodedBytes());
      this.set({ cache: "record_json" }, recordJsonCacheBytes());
      this.set({ cache: "answer_buffers" }, answerBufferBytes());
    },
  });

  // The standard process_* and nodejs_* families, which generic process dashboards and alerts look for.
  collectDefaultMetrics({ register: registry });
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
