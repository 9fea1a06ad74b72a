import { Counter, Gauge, type Registry } from "prom-client";
import { CLOCK_EVENT_REASON_BITS } from "../../telemetry/clock-event-reasons";
import type { GpuExtraReadings, GpuInfo, GpuMemoryHealth, GpuMetrics, MetricKey } from "../../telemetry/types";
import type { GpuEnergy, ScrapeView, ScrapedGpu } from "./scrape-view";

/**
 * The GPU readings as nvidia_gpu_exporter (utkuozdemir/nvidia_gpu_exporter)
 * names them, so its Grafana dashboards and the alert rules written for it work
 * on this recorder: `nvidia_smi_` and the nvidia-smi field with dots as
 * underscores, scaled as that exporter scales the unit nvidia-smi prints
 * (MiB to `_bytes`, % to `_ratio`, MHz to `_clock_hz`, W to `_watts`), every
 * series labelled with the GPU's uuid as it writes it (lower case, no `GPU-`).
 * Yes/no values are 1 and 0; a value the GPU does not report is left out.
 */

interface SmiFamily<T> {
  name: string;
  /** nvidia-smi's field as its CSV header prints it, which that exporter gives as the help. */
  help: string;
  value: (from: T) => number | boolean | null;
}

/** The suffix and base unit that exporter gives each unit nvidia-smi prints. */
const UNITS = {
  MiB: { suffix: "_bytes", convert: (mib: number) => mib * 1024 * 1024 },
  // Divided rather than times 0.01, which would make 57 % read 0.5700000000000001.
  "%": { suffix: "_ratio", convert: (percent: number) => percent / 100 },
  MHz: { suffix: "_clock_hz", convert: (mhz: number) => mhz * 1e6 },
  W: { suffix: "_watts", convert: (watts: number) => watts },
} as const;

/** That exporter's family of an nvidia-smi field, from the field's name and unit. */
function smiFamily<T>(field: string, unit: keyof typeof UNITS | null, read: (from: T) => number | boolean | null): SmiFamily<T> {
  const { suffix, convert } = unit ? UNITS[unit] : { suffix: "", convert: (value: number) => value };
  return {
    name: `${field.replaceAll(".", "_")}${suffix}`,
    help: unit ? `${field} [${unit}]` : field,
    value: (from) => {
      const value = read(from);
      return typeof value === "number" ? convert(value) : value;
    },
  };
}

const fromSample = (field: string, unit: keyof typeof UNITS | null, key: MetricKey) => smiFamily<GpuMetrics>(field, unit, (s) => s[key]);

/** The readings of every tick, from the GPU's newest sample. */
const SAMPLE_FAMILIES: Array<SmiFamily<GpuMetrics>> = [
  fromSample("temperature.gpu", null, "temperatureC"),
  fromSample("temperature.memory", null, "memoryTemperatureC"),
  fromSample("fan.speed", "%", "fanSpeedPct"),
  fromSample("power.draw", "W", "powerDrawW"),
  fromSample("enforced.power.limit", "W", "powerLimitW"),
  fromSample("clocks.current.graphics", "MHz", "graphicsClockMhz"),
  fromSample("clocks.current.sm", "MHz", "smClockMhz"),
  fromSample("clocks.current.memory", "MHz", "memoryClockMhz"),
  fromSample("clocks.current.video", "MHz", "videoClockMhz"),
  fromSample("clocks.default_applications.graphics", "MHz", "baseClockMhz"),
  fromSample("clocks.max.graphics", "MHz", "maxGraphicsClockMhz"),
  fromSample("clocks.max.memory", "MHz", "maxMemoryClockMhz"),
  fromSample("clocks_event_reasons.active", null, "clockEventReasons"),
  // Each reason nvidia-smi prints as Active or Not Active: a bit of the mask.
  ...(
    [
      ["gpu_idle", "idle"],
      ["applications_clocks_setting", "applicationsClocksSetting"],
      ["sw_power_cap", "swPowerCap"],
      ["hw_slowdown", "hwSlowdown"],
      ["sync_boost", "syncBoost"],
      ["sw_thermal_slowdown", "swThermalSlowdown"],
      ["hw_thermal_slowdown", "hwThermalSlowdown"],
      ["hw_power_brake_slowdown", "hwPowerBrakeSlowdown"],
    ] as const
  ).map(([field, reason]) =>
    smiFamily<GpuMetrics>(`clocks_event_reasons.${field}`, null, (s) =>
      s.clockEventReasons === null ? null : (s.clockEventReasons & CLOCK_EVENT_REASON_BITS[reason]) !== 0,
    ),
  ),
  fromSample("utilization.gpu", "%", "gpuUtilizationPct"),
  fromSample("utilization.memory", "%", "memoryUtilizationPct"),
  fromSample("memory.used", "MiB", "memoryUsedMib"),
  fromSample("memory.total", "MiB", "memoryTotalMib"),
  // nvidia-smi prints P0..P15; that exporter keeps the number.
  fromSample("pstate", null, "pstate"),
];

/** Readings storage does not keep, as the source holds the newest. */
const EXTRA_FAMILIES: Array<SmiFamily<GpuExtraReadings>> = [
  smiFamily("memory.reserved", "MiB", (e) => e.memoryReservedMib),
  smiFamily("utilization.encoder", "%", (e) => e.encoderUtilizationPct),
  smiFamily("utilization.decoder", "%", (e) => e.decoderUtilizationPct),
  // Words in nvidia-smi, numbers here as that exporter maps them (Default 0 ... Exclusive_Process 3; None 0 ... Drain and Reset 4).
  smiFamily("compute_mode", null, (e) => e.computeMode),
  smiFamily("gpu_recovery_action", null, (e) => e.recoveryAction),
];

/** Free memory as nvidia-smi prints it: neither used nor reserved (where the source tells the reserve apart). */
const FREE_MEMORY = smiFamily<ScrapedGpu>("memory.free", "MiB", ({ sample, extras }) =>
  sample?.memoryTotalMib == null || sample.memoryUsedMib === null
    ? null
    : sample.memoryTotalMib - sample.memoryUsedMib - (extras?.memoryReservedMib ?? 0),
);

/** The memory error counters, from the last listing (which a scrape never waits for). */
const MEMORY_HEALTH_FAMILIES: Array<SmiFamily<GpuMemoryHealth>> = (
  [
    ["ecc.mode.current", "eccEnabled"],
    ["ecc.errors.corrected.volatile.total", "eccCorrectedVolatile"],
    ["ecc.errors.uncorrected.volatile.total", "eccUncorrectedVolatile"],
    ["ecc.errors.corrected.aggregate.total", "eccCorrectedAggregate"],
    ["ecc.errors.uncorrected.aggregate.total", "eccUncorrectedAggregate"],
    ["retired_pages.single_bit_ecc.count", "retiredPagesSingleBit"],
    ["retired_pages.double_bit.count", "retiredPagesDoubleBit"],
    ["retired_pages.pending", "retiredPagesPending"],
    ["remapped_rows.correctable", "remappedRowsCorrectable"],
    ["remapped_rows.uncorrectable", "remappedRowsUncorrectable"],
    ["remapped_rows.pending", "rowRemapPending"],
    ["remapped_rows.failure", "rowRemapFailure"],
  ] as const
).map(([field, key]) => smiFamily<GpuMemoryHealth>(field, null, (h) => h[key]));

/** `GPU-8dcb376c-...` as that exporter labels it: `8dcb376c-...`. */
export const smiUuid = (uuid: string) => uuid.toLowerCase().replace(/^gpu-/, "");

const INFO_LABELS = ["uuid", "name", "index", "driver_version"] as const;

function infoLabels(info: GpuInfo): Record<(typeof INFO_LABELS)[number], string> {
  return { uuid: smiUuid(info.uuid), name: info.name, index: String(info.index), driver_version: info.driverVersion ?? "" };
}

function registerFamilies<T>(
  registry: Registry,
  families: Array<SmiFamily<T>>,
  view: () => ScrapeView,
  readingOf: (gpu: ScrapedGpu) => T | null,
): void {
  for (const family of families) {
    new Gauge({
      name: `nvidia_smi_${family.name}`,
      help: family.help,
      labelNames: ["uuid"],
      registers: [registry],
      collect() {
        this.reset();
        for (const gpu of view().gpus) {
          const reading = readingOf(gpu);
          const value = reading === null ? null : family.value(reading);
          if (value !== null && Number.isFinite(Number(value))) this.set({ uuid: smiUuid(gpu.info.uuid) }, Number(value));
        }
      },
    });
  }
}

export function registerNvidiaSmiFamilies(registry: Registry, view: () => ScrapeView, energy: () => Promise<GpuEnergy[]>): void {
  new Gauge({
    name: "nvidia_smi_gpu_info",
    help: `A metric with a constant '1' value labeled by gpu ${INFO_LABELS.join(", ")}.`,
    labelNames: INFO_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      for (const { info, sample } of view().gpus) if (sample) this.set(infoLabels(info), 1);
    },
  });
  new Gauge({
    name: "nvidia_smi_index",
    help: "index",
    labelNames: ["uuid"],
    registers: [registry],
    collect() {
      this.reset();
      for (const { info, sample } of view().gpus) if (sample) this.set({ uuid: smiUuid(info.uuid) }, info.index);
    },
  });
  registerFamilies(registry, SAMPLE_FAMILIES, view, (gpu) => gpu.sample);
  registerFamilies(registry, MEMORY_HEALTH_FAMILIES, view, (gpu) => gpu.memoryHealth);
  registerFamilies(registry, EXTRA_FAMILIES, view, (gpu) => gpu.extras);
  registerFamilies(registry, [FREE_MEMORY], view, (gpu) => gpu);

  new Counter({
    name: "nvidia_smi_energy_joules_total",
    help: "Total energy consumption since the driver loaded (in J).",
    labelNames: ["uuid"],
    registers: [registry],
    async collect() {
      const counted = await energy();
      this.reset();
      for (const { gpu, millijoules } of counted) this.inc({ uuid: smiUuid(gpu.info.uuid) }, millijoules / 1000);
    },
  });

  // Over the Xid errors the source keeps (the newest hundred).
  new Counter({
    name: "nvidia_smi_xid_errors_total",
    help: "Xid errors the driver reported since the recorder started, by GPU and Xid.",
    labelNames: ["uuid", "xid"],
    registers: [registry],
    collect() {
      this.reset();
      for (const event of view().xidErrors) this.inc({ uuid: smiUuid(event.gpuUuid), xid: String(event.xid) });
    },
  });
  new Gauge({
    name: "nvidia_smi_xid_last_timestamp_seconds",
    help: "When the newest Xid error of each GPU and Xid was received (Unix seconds).",
    labelNames: ["uuid", "xid"],
    registers: [registry],
    collect() {
      this.reset();
      for (const event of view().xidErrors) this.set({ uuid: smiUuid(event.gpuUuid), xid: String(event.xid) }, event.at / 1000);
    },
  });
}
