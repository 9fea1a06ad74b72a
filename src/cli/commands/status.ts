import type { inferRouterOutputs } from "@trpc/server";
import { createTelemetryClient } from "../../client/telemetry-client";
import type { AppRouter } from "../../server/routers/_app";
import { gpuSelector } from "../../server/api/inputs";
import { memoryErrorFlags, memoryErrorsState, memoryErrorsSummary } from "../../lib/memory-errors";
import { CommandFailure, defineCommand } from "../command";
import { formatAgo, formatCount, formatDuration, formatTime } from "../format";
import { formatBytes } from "../../telemetry/format-bytes";
import { flagsRefused, GPU_OPTIONS, gpuInputOf } from "../gpu-flags";
import { askServer } from "../server-failure";
import { SERVER_OPTIONS, serverTarget } from "../server-target";
import { DAY_MS } from "../../telemetry/durations";

type Health = inferRouterOutputs<AppRouter>["health"]["status"];
type Processes = inferRouterOutputs<AppRouter>["gpus"]["processes"];
type MemoryHealth = inferRouterOutputs<AppRouter>["gpus"]["memoryHealth"];
type XidErrors = inferRouterOutputs<AppRouter>["gpus"]["xidErrors"];

/** What else the server knows of each GPU, asked beside health.status. */
export interface GpuExtras {
  processes?: Processes | null;
  memoryHealth?: MemoryHealth | null;
  xidErrors?: XidErrors | null;
}

export const statusCommand = defineCommand({
  name: "status",
  summary: "what a running server is doing: source, collector, database, GPUs",
  synopsis: "[--json] [--gpu-uuid UUID | --gpu N] [--url URL] [--db-path FILE] [--token TOKEN]",
  description: `
Asks a running server (health.status) and prints its source, the collector's
counters, the database and the newest reading of each GPU (with its UUID) in a
few lines; --gpu-uuid or --gpu keeps one GPU's lines.`,
  options: {
    json: { type: "boolean", help: "print the whole answer as JSON instead" },
    ...GPU_OPTIONS,
    ...SERVER_OPTIONS,
  },
  async run({ values }) {
    const selection = gpuSelector.safeParse(gpuInputOf(values));
    if (!selection.success) throw flagsRefused(selection.error);
    const { gpuIndex, gpuUuid } = selection.data;
    // The server's GPUs are those it reports now: the one at an index is the one reporting there.
    const chosen = (gpu: { uuid: string; index: number }) =>
      (gpuUuid === undefined || gpu.uuid === gpuUuid) && (gpuIndex === undefined || gpu.index === gpuIndex);
    const target = serverTarget(values);
    const client = createTelemetryClient(target.url, { token: target.token ?? undefined, timeoutMs: target.timeoutMs });
    const [everyGpu, processes, memoryHealth, xidErrors] = await askServer(target, () =>
      Promise.all([
        client.health.status.query(),
        client.gpus.processes.query(),
        client.gpus.memoryHealth.query(),
        client.gpus.xidErrors.query(),
      ]),
    );
    const health = { ...everyGpu, gpus: everyGpu.gpus.filter(chosen), latest: everyGpu.latest.filter(chosen) };
    if ((gpuIndex !== undefined || gpuUuid !== undefined) && health.gpus.length === 0) {
      const asked = [gpuUuid, gpuIndex === undefined ? undefined : `at index ${gpuIndex}`].filter((a) => a !== undefined).join(" ");
      const has = everyGpu.gpus.map((g) => `${g.index} ${g.uuid}`).join(", ") || "none";
      throw new CommandFailure(`the server at ${target.url} reports no GPU ${asked} now (it reports: ${has})`);
    }
    const extras = { processes, memoryHealth, xidErrors };
    process.stdout.write(
      values.json ? `${JSON.stringify({ url: target.url, ...health, ...extras }, null, 2)}\n` : describeHealth(target.url, health, extras),
    );
  },
});

const LABEL_WIDTH = 11;
const line = (label: string, text: string) => `${label.padEnd(LABEL_WIDTH)}${text}\n`;
const more = (text: string) => line("", text);

export function describeHealth(
  url: string,
  health: Health,
  { processes = null, memoryHealth = null, xidErrors = null }: GpuExtras = {},
  now = Date.now(),
): string {
  const { source, collector, database } = health;
  let out = `nvidia-oc at ${url}, up ${formatDuration(health.uptimeMs)}${health.signInRequired ? ", token required" : ""}\n`;

  out += line("source", `${source.detail}${source.synthetic ? " (not a live GPU reading)" : ""}${source.running ? "" : ", stopped"}`);
  if (source.restarts > 0 || source.badLines > 0)
    out += more(`${formatCount(source.restarts)} restarts, ${formatCount(source.badLines)} unreadable lines skipped`);
  if (source.lastError) out += more(`last error${source.lastErrorAt ? ` ${formatAgo(source.lastErrorAt, now)}` : ""}: ${source.lastError}`);

  out += line(
    "collector",
    `every ${collector.intervalMs} ms: ${formatCount(collector.collected)} collected, ${formatCount(collector.stored)} stored, ` +
      `${formatCount(collector.dropped)} dropped, ${formatCount(collector.pending)} pending` +
      (collector.lastSampleAt ? `; newest sample ${formatAgo(collector.lastSampleAt, now)}` : "; no sample yet"),
  );
  if (collector.writesFailingSince) {
    out += more(
      `writes failing since ${formatTime(collector.writesFailingSince)} (${formatCount(collector.writeFailures)} failed flushes)`,
    );
  }
  if (collector.lastError)
    out += more(`last error${collector.lastErrorAt ? ` ${formatAgo(collector.lastErrorAt, now)}` : ""}: ${collector.lastError}`);

  out += line(
    "database",
    database.available
      ? `${database.path}: ${formatBytes(database.fileBytes)} of ${formatBytes(database.maxBytes)}, samples kept ${database.retentionMs / DAY_MS} days`
      : `${database.path}: unavailable${database.error ? ` (${database.error})` : ""}; live data goes on`,
  );
  if (database.lastPrune) {
    const prune = database.lastPrune;
    out += more(
      `last prune ${formatAgo(prune.at, now)} (${prune.reason}): ${prune.error ? `failed: ${prune.error}` : `${formatCount(prune.deletedSamples)} samples deleted`}`,
    );
  }

  if (health.gpus.length === 0) out += line("GPUs", "none seen yet");
  const states = new Map(collector.gpus.map((g) => [g.uuid, g]));
  const latest = new Map(health.latest.map((s) => [s.uuid, s]));
  for (const gpu of health.gpus) {
    const reading = latest.get(gpu.uuid);
    const state = states.get(gpu.uuid);
    const values = reading
      ? [
          reading.temperatureC !== null ? `${reading.temperatureC} °C` : null,
          reading.powerDrawW !== null
            ? `${reading.powerDrawW} W${reading.powerLimitW !== null ? ` of ${reading.powerLimitW} W` : ""}`
            : null,
          reading.graphicsClockMhz !== null ? `${reading.graphicsClockMhz} MHz` : null,
          reading.gpuUtilizationPct !== null ? `${reading.gpuUtilizationPct} % busy` : null,
          reading.clockEventReasonWords.length > 0 ? `clocks: ${reading.clockEventReasonWords.join(", ")}` : null,
        ].filter((v) => v !== null)
      : ["no reading yet"];
    out += line(`GPU ${gpu.index}`, `${gpu.name}: ${values.join(", ")}`);
    out += more(gpu.uuid);
    if (state && state.state !== "reporting") {
      out += more(`${state.state}${state.since ? ` since ${formatTime(state.since)}` : ""}${state.problem ? `: ${state.problem}` : ""}`);
    }
    const memoryErrors = memoryHealth?.gpus.find((g) => g.gpuUuid === gpu.uuid);
    if (memoryErrors && memoryErrorsState(memoryErrors) !== "not-kept") {
      const flags = memoryErrorFlags(memoryErrors).map((flag) => flag.text);
      out += more(`memory errors: ${memoryErrorsSummary(memoryErrors)}${flags.length > 0 ? `; ${flags.join(", ")}` : ""}`);
    }
    const xids = xidErrors?.events.filter((e) => e.gpuUuid === gpu.uuid) ?? [];
    if (xids[0]) {
      const earlier = xids.length > 1 ? `, ${formatCount(xids.length - 1)} earlier` : "";
      out += more(`last Xid ${xids[0].xid}${xids[0].meaning ? ` (${xids[0].meaning})` : ""} at ${formatTime(xids[0].at)}${earlier}`);
    }
    // What runs on it, as nvidia-smi's process table shows it.
    for (const p of processes?.processes.filter((p) => p.gpuUuid === gpu.uuid) ?? []) {
      const memory = p.usedMemoryMib === null ? "memory n/a" : `${formatCount(p.usedMemoryMib)} MiB`;
      out += more(`pid ${p.pid} ${p.processName ?? "(name n/a)"}${p.user ? ` (${p.user})` : ""}: ${memory}`);
    }
  }
  if (processes?.error) out += line("processes", `could not be listed: ${processes.error}`);
  if (memoryHealth?.error) out += line("memory", `errors could not be read: ${memoryHealth.error}`);
  return out;
}
