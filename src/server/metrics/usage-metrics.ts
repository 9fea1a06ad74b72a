import { Gauge, type Registry } from "prom-client";
import type { Collector } from "../collector/collector";

/**
 * Who is on each GPU now, from the usage record's open sessions: how many
 * processes and how many users. Counts only, never a series per pid, which
 * would grow without bound as jobs come and go. Labelled `gpu` (the index) and
 * `gpu_uuid`, in Prometheus' own snake_case.
 */
export function registerUsageMetrics(registry: Registry, collector: Collector) {
  const countOf = (name: string, help: string, count: (present: { processes: number; users: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["gpu", "gpu_uuid"],
      registers: [registry],
      collect() {
        this.reset();
        const present = collector.sessions.present();
        for (const gpu of collector.gpus()) {
          this.set({ gpu: String(gpu.index), gpu_uuid: gpu.uuid }, count(present.get(gpu.uuid) ?? { processes: 0, users: 0 }));
        }
      },
    });
  countOf("nvoc_gpu_processes", "Compute processes on the GPU at the last listing (every 5 s).", (p) => p.processes);
  countOf("nvoc_gpu_users", "Distinct users with a compute process on the GPU at the last listing.", (p) => p.users);
}
