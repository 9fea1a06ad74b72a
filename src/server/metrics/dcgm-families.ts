import { Counter, Gauge, type Registry } from "prom-client";
import { METRIC_CATALOGUE, type MetricDefinition, type MetricKey } from "../../telemetry/metric-catalogue";
import type { GpuExtraReadings, GpuMemoryHealth, GpuMetrics } from "../../telemetry/types";
import { xidMeaning } from "../../telemetry/xid-errors";
import { GPU_LABELS, type GpuEnergy, type GpuLabels, type ScrapeView } from "./scrape-view";

/**
 * The GPU readings under dcgm-exporter's metric names, types, units and labels
 * (tests/fixtures/grafana/dcgm-exporter-default-counters.csv), so NVIDIA's DCGM
 * Grafana dashboard and alert rules written for dcgm-exporter work unchanged.
 * A value the GPU does not report is left out, never exported as 0, and a GPU
 * that stopped reporting exports no readings at all.
 */

type Kind = "counter" | "gauge";

interface DcgmField {
  name: string;
  help: string;
  kind: Kind;
  /** `extras`: what the source holds beside the sample, null where it reads none. */
  value: (sample: GpuMetrics, extras: GpuExtraReadings | null) => number | null;
}

/** dcgm-exporter's name and help of a GPU reading, and where the reading is. */
const fromSample = (name: string, help: string, key: MetricKey): DcgmField => ({ name, help, kind: "gauge", value: (s) => s[key] });

/** The same for a reading storage does not keep. */
const fromExtras = (name: string, help: string, kind: Kind, key: Exclude<keyof GpuExtraReadings, "pciBusId">): DcgmField => ({
  name,
  help,
  kind,
  value: (_, extras) => extras?.[key] ?? null,
});

/** Each catalogue metric that declares a Prometheus name, then the fields dcgm-exporter derives or names that the catalogue does not. */
const DCGM_FIELDS: DcgmField[] = [
  ...(METRIC_CATALOGUE as readonly MetricDefinition[]).flatMap(({ key, prometheus }) =>
    prometheus ? [fromSample(prometheus.name, prometheus.help, key as MetricKey)] : [],
  ),
  fromSample("DCGM_FI_DEV_FAN_SPEED", "Fan speed (in 0-100%).", "fanSpeedPct"),
  fromSample("DCGM_FI_DEV_PSTATE", "Performance state (P-State) 0-15. 0=highest.", "pstate"),
  fromSample("DCGM_FI_DEV_VIDEO_CLOCK", "Video encoder/decoder clock (in MHz).", "videoClockMhz"),
  fromSample("DCGM_FI_DEV_FB_TOTAL", "Framebuffer memory total (in MiB).", "memoryTotalMib"),
  fromExtras("DCGM_FI_DEV_FB_RESERVED", "Framebuffer memory reserved (in MiB).", "gauge", "memoryReservedMib"),
  {
    name: "DCGM_FI_DEV_FB_FREE",
    help: "Framebuffer memory free (in MiB).",
    kind: "gauge",
    // As DCGM: used + free + reserved = total. A source that cannot tell the reserve apart
    // (an older driver's NVML, a replayed file) counts it as used or free, as its driver does.
    value: (s, extras) =>
      s.memoryTotalMib === null || s.memoryUsedMib === null ? null : s.memoryTotalMib - s.memoryUsedMib - (extras?.memoryReservedMib ?? 0),
  },
  fromExtras("DCGM_FI_DEV_ENC_UTIL", "Encoder utilization (in %).", "gauge", "encoderUtilizationPct"),
  fromExtras("DCGM_FI_DEV_DEC_UTIL", "Decoder utilization (in %).", "gauge", "decoderUtilizationPct"),
  fromExtras("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "Total number of PCIe retries.", "counter", "pcieReplays"),
];

type MemoryHealthKey = Exclude<keyof GpuMemoryHealth, "gpuUuid">;

/** dcgm-exporter's memory error fields (ECC, row remapping, page retirement): name, help, type, and where the value is. */
const DCGM_MEMORY_FIELDS: Array<[name: string, help: string, kind: Kind, key: MemoryHealthKey]> = [
  ["DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "Total number of single-bit volatile ECC errors.", "counter", "eccCorrectedVolatile"],
  ["DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "Total number of double-bit volatile ECC errors.", "counter", "eccUncorrectedVolatile"],
  ["DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", "Total number of single-bit persistent ECC errors.", "counter", "eccCorrectedAggregate"],
  ["DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "Total number of double-bit persistent ECC errors.", "counter", "eccUncorrectedAggregate"],
  ["DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "Number of remapped rows for correctable errors.", "counter", "remappedRowsCorrectable"],
  ["DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", "Number of remapped rows for uncorrectable errors.", "counter", "remappedRowsUncorrectable"],
  ["DCGM_FI_DEV_ROW_REMAP_FAILURE", "Whether remapping of rows has failed.", "gauge", "rowRemapFailure"],
  ["DCGM_FI_DEV_ROW_REMAP_PENDING", "Whether remapping of rows is pending (a GPU reset applies it).", "gauge", "rowRemapPending"],
  ["DCGM_FI_DEV_RETIRED_SBE", "Total number of retired pages due to single-bit errors.", "counter", "retiredPagesSingleBit"],
  ["DCGM_FI_DEV_RETIRED_DBE", "Total number of retired pages due to double-bit errors.", "counter", "retiredPagesDoubleBit"],
  // DCGM reads NVML's pending-retirement status, a yes or no, under a counter's name: 0 or 1 here too.
  ["DCGM_FI_DEV_RETIRED_PENDING", "Total number of pages pending retirement.", "counter", "retiredPagesPending"],
];

export function registerDcgmFamilies(registry: Registry, view: () => ScrapeView, energy: () => Promise<GpuEnergy[]>): void {
  /** A family whose values `values` gives at each scrape. */
  const family = (name: string, help: string, kind: Kind, values: () => Array<[GpuLabels, number]>) => {
    const definition = { name, help, labelNames: GPU_LABELS, registers: [registry] };
    if (kind === "counter")
      new Counter({
        ...definition,
        collect() {
          this.reset();
          for (const [labels, value] of values()) this.inc(labels, value);
        },
      });
    else
      new Gauge({
        ...definition,
        collect() {
          this.reset();
          for (const [labels, value] of values()) this.set(labels, value);
        },
      });
  };

  for (const field of DCGM_FIELDS)
    family(field.name, field.help, field.kind, () =>
      view().gpus.flatMap(({ labels, sample, extras }): Array<[GpuLabels, number]> => {
        const value = sample && field.value(sample, extras);
        return typeof value === "number" && Number.isFinite(value) ? [[labels, value]] : [];
      }),
    );

  // A counter in dcgm-exporter too; where the source has the counter (NVML, the simulated GPUs).
  new Counter({
    name: "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    help: "Total energy consumption since boot (in mJ).",
    labelNames: GPU_LABELS,
    registers: [registry],
    async collect() {
      const counted = await energy();
      this.reset();
      for (const { gpu, millijoules } of counted) this.inc(gpu.labels, millijoules);
    },
  });

  /** The field's value for every GPU that reports it, booleans as 0 and 1, from the last listing. */
  const memoryValues = (key: MemoryHealthKey) => {
    const found: Array<[GpuLabels, number]> = [];
    for (const { labels, memoryHealth } of view().gpus) {
      const value = memoryHealth && memoryHealth[key];
      if (value !== null) found.push([labels, Number(value)]);
    }
    return found;
  };
  for (const [name, help, kind, key] of DCGM_MEMORY_FIELDS) family(name, help, kind, () => memoryValues(key));

  new Gauge({
    name: "DCGM_FI_DEV_XID_ERRORS",
    help: "Value of the last XID error encountered.",
    // dcgm-exporter names the error in two more labels: its number and what it means.
    labelNames: [...GPU_LABELS, "err_code", "err_msg"],
    registers: [registry],
    collect() {
      this.reset();
      const { byUuid, xidErrors } = view();
      const newest = new Map<string, number>();
      // Oldest first: each GPU ends at its newest.
      for (const event of xidErrors) newest.set(event.gpuUuid, event.xid);
      for (const [uuid, xid] of newest) {
        const gpu = byUuid.get(uuid);
        if (gpu) this.set({ ...gpu.labels, err_code: String(xid), err_msg: xidMeaning(xid) ?? "" }, xid);
      }
    },
  });
}
