import { formatDuration } from "../../cli/format";
import type { StoredGpuEvent } from "../storage/gpu-events";

/** An event in words, for people: "power limit 700 W → 600 W", "Xid 79 (GPU has fallen off the bus)". */
export function eventMessage({ kind, detail }: Pick<StoredGpuEvent, "kind" | "detail">): string {
  const change = (what: string, unit = "") => `${what} ${String(detail.from)}${unit} → ${String(detail.to)}${unit}`;
  switch (kind) {
    case "xid":
      return `Xid ${String(detail.xid)}${typeof detail.meaning === "string" ? ` (${detail.meaning})` : ""}`;
    case "gpu_lost":
      return `GPU lost${typeof detail.problem === "string" ? `: ${detail.problem}` : ""}`;
    case "gpu_stale":
      return "GPU stopped reporting";
    case "gpu_back":
      return `GPU reports again (was ${String(detail.was)})`;
    case "power_limit_changed":
      return change("power limit", " W");
    case "max_graphics_clock_changed":
      return change("max graphics clock", " MHz");
    case "max_memory_clock_changed":
      return change("max memory clock", " MHz");
    case "base_clock_changed":
      return change("base (application) clock", " MHz");
    case "application_clocks_changed":
      return `application clocks ${clockPair(detail.from)} MHz → ${clockPair(detail.to)} MHz (graphics/memory)`;
    case "driver_version_changed":
      return change("driver");
    case "recorder_started":
      return typeof detail.gapMs === "number"
        ? `recorder started, ${formatDuration(detail.gapMs)} after the last ${detail.cleanStop ? "clean stop" : "sample of a run that did not stop cleanly"}`
        : "recorder started (first run)";
    case "recorder_stopped":
      return detail.clean ? "recorder stopped" : "recorder stopped without a clean shutdown (time of its newest sample)";
    case "prune":
      return `pruned (${String(detail.reason)}): ${String(detail.deletedSamples)} samples, ${String(detail.deletedEvents)} events deleted`;
    default:
      return kind;
  }
}

/** "1980/3201": graphics and memory, "?" for one not reported. */
function clockPair(clocks: unknown): string {
  const { graphics, memory } = (clocks ?? {}) as { graphics?: unknown; memory?: unknown };
  const mhz = (value: unknown) => (typeof value === "number" ? String(value) : "?");
  return `${mhz(graphics)}/${mhz(memory)}`;
}
