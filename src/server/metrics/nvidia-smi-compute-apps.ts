import { Gauge, type Registry } from "prom-client";
import type { ProcessListing } from "../collector/process-reader";
import { smiUuid } from "./nvidia-smi-families";
import type { ScrapeView } from "./scrape-view";

/**
 * nvidia_gpu_exporter's per-process families (its `--collect.compute-apps`),
 * from the last process listing, which a scrape never waits for: every process
 * with a compute context, the memory it holds where the driver says, a count per
 * GPU (0 on an idle one), and whether the listing worked, so a failed listing
 * never reads as idle GPUs.
 */

const APP_LABELS = ["uuid", "pid", "process_name"] as const;

/** `canList`: whether the source can list processes at all (a replayed file cannot); the families are left out where it cannot. */
export function registerComputeAppFamilies(
  registry: Registry,
  view: () => ScrapeView,
  processes: () => ProcessListing | null,
  canList: boolean,
): void {
  if (!canList) return;
  /** The processes when the last listing worked; null when it failed, none was made yet, or the source cannot list them. */
  const listed = () => {
    const listing = processes();
    return listing && listing.supported && listing.error === null ? listing.processes : null;
  };
  const eachApp = (use: (labels: Record<(typeof APP_LABELS)[number], string>, usedMemoryMib: number | null) => void) => {
    for (const app of listed() ?? [])
      if (app.gpuUuid !== null)
        use({ uuid: smiUuid(app.gpuUuid), pid: String(app.pid), process_name: app.processName ?? "" }, app.usedMemoryMib);
  };

  new Gauge({
    name: "nvidia_smi_compute_app_info",
    help: "A metric with a constant '1' value labeled by the identity of a process with a compute context on a GPU.",
    labelNames: APP_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      eachApp((labels) => this.set(labels, 1));
    },
  });
  new Gauge({
    name: "nvidia_smi_compute_app_used_memory_bytes",
    help: "GPU memory used by the process. Absent when the driver cannot report it (e.g. Windows WDDM).",
    labelNames: APP_LABELS,
    registers: [registry],
    collect() {
      this.reset();
      eachApp((labels, usedMemoryMib) => {
        if (usedMemoryMib !== null) this.set(labels, usedMemoryMib * 1024 * 1024);
      });
    },
  });
  new Gauge({
    name: "nvidia_smi_compute_apps",
    help: "Number of processes with a compute context on the GPU.",
    labelNames: ["uuid"],
    registers: [registry],
    collect() {
      this.reset();
      const apps = listed();
      if (!apps) return;
      for (const { info, sample } of view().gpus)
        if (sample) this.set({ uuid: smiUuid(info.uuid) }, apps.filter((app) => app.gpuUuid === info.uuid).length);
    },
  });
  new Gauge({
    name: "nvidia_smi_compute_apps_last_collect_success",
    help: "Whether the most recent per-process collection succeeded (1) or not (0)",
    registers: [registry],
    collect() {
      // 0 too before the first listing has answered: none has succeeded yet.
      this.set(processes()?.error === null ? 1 : 0);
    },
  });
}
