import { idleHoldersInput, usageSummaryInput } from "../../server/api/inputs";
import { createTelemetryClient } from "../../client/telemetry-client";
import { defineCommand } from "../command";
import { formatDuration, formatTime } from "../format";
import { flagsRefused, GPU_OPTIONS, gpuInputOf, numberFlag } from "../gpu-flags";
import { askServer } from "../server-failure";
import { SERVER_OPTIONS, serverTarget } from "../server-target";

export const usageCommand = defineCommand({
  name: "usage",
  summary: "who used the GPUs: GPU-hours, busy hours, memory and energy by user, process or GPU",
  synopsis:
    "[--hours N] [--by user|process|gpu] [--idle [--minutes N]] [--gpu-uuid UUID | --gpu N] [--json] [--url URL] [--db-path FILE] [--token TOKEN]",
  description: `
Asks a running server (usage.summary) for the process sessions of the last
--hours and prints one line per user, process name or GPU: sessions, GPU-hours,
busy GPU-hours, peak memory and energy, the most GPU time first, and the total.
With --idle it lists the idle holders instead (usage.idleHolders): sessions
that held more than 1 GiB while their GPU stayed under 5 % utilization for
--minutes (30) or more.`,
  options: {
    hours: { type: "string", value: "N", help: "how far back, 1-2160 (default 168: a week)" },
    by: { type: "string", value: "WHAT", help: "user, process or gpu (default user)" },
    idle: { type: "boolean", help: "list the idle holders instead of the totals" },
    minutes: { type: "string", value: "N", help: "with --idle: the least idle time that counts (default 30)" },
    ...GPU_OPTIONS,
    json: { type: "boolean", help: "print the whole answer as JSON instead" },
    ...SERVER_OPTIONS,
  },
  async run({ values }) {
    const hours = numberFlag("--hours", values.hours);
    const target = serverTarget(values);
    const client = createTelemetryClient(target.url, { token: target.token ?? undefined, timeoutMs: target.timeoutMs });
    if (values.idle) {
      const input = idleHoldersInput.safeParse({ hours, minutes: numberFlag("--minutes", values.minutes), ...gpuInputOf(values) });
      if (!input.success) throw flagsRefused(input.error);
      const answer = await askServer(target, () => client.usage.idleHolders.query(input.data));
      if (values.json) return printJson(answer);
      if (answer.holders.length === 0) {
        process.stdout.write(
          `no idle holders in the last ${input.data.hours} h (over 1 GiB held, GPU under 5 % for ${input.data.minutes} min)\n`,
        );
        return;
      }
      printTable(
        ["GPU", "USER", "PID", "PROCESS", "MEMORY", "IDLE FOR", "SINCE"],
        answer.holders.map((h) => [
          h.gpuIndex?.toString() ?? "?",
          h.user ?? "unknown",
          String(h.pid),
          h.processName ?? "unknown",
          h.memoryMib === null ? "-" : `${h.memoryMib} MiB`,
          formatDuration(h.idleForS * 1000),
          formatTime(h.idleFrom),
        ]),
      );
      return;
    }
    const input = usageSummaryInput.safeParse({ hours, by: values.by, ...gpuInputOf(values) });
    if (!input.success) throw flagsRefused(input.error);
    const summary = await askServer(target, () => client.usage.summary.query(input.data));
    if (values.json) return printJson(summary);
    if (summary.rows.length === 0) {
      process.stdout.write(`no processes recorded in the last ${input.data.hours} h\n`);
      return;
    }
    const line = (key: string, t: (typeof summary)["totals"]) => [
      key,
      String(t.sessions),
      t.gpuHours.toFixed(2),
      t.busyGpuHours.toFixed(2),
      t.peakMemoryMib === null ? "-" : `${t.peakMemoryMib} MiB`,
      t.energyWh >= 1000 ? `${(t.energyWh / 1000).toFixed(2)} kWh` : `${t.energyWh.toFixed(1)} Wh`,
    ];
    printTable(
      [input.data.by.toUpperCase(), "SESSIONS", "GPU-HOURS", "BUSY GPU-HOURS", "PEAK MEMORY", "ENERGY"],
      [...summary.rows.map((row) => line(row.key, row)), line("total", summary.totals)],
    );
  },
});

function printJson(answer: unknown) {
  process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
}

/** Columns padded to their widest cell, the first left-aligned and the rest right-aligned. */
function printTable(header: string[], rows: string[][]) {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i].length)));
  const format = (cells: string[]) => cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ");
  process.stdout.write([header, ...rows].map((cells) => `${format(cells).trimEnd()}\n`).join(""));
}
