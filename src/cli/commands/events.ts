import { eventsInput } from "../../server/api/inputs";
import { createTelemetryClient } from "../../client/telemetry-client";
import { defineCommand } from "../command";
import { formatTime } from "../format";
import { flagsRefused, GPU_OPTIONS, gpuInputOf, numberFlag } from "../gpu-flags";
import { askServer } from "../server-failure";
import { SERVER_OPTIONS, serverTarget } from "../server-target";

export const eventsCommand = defineCommand({
  name: "events",
  summary: "the event log: Xid errors, GPUs lost and back, changed limits, restarts, prunes",
  synopsis: "[--hours N] [--gpu-uuid UUID | --gpu N] [--json] [--url URL] [--db-path FILE] [--token TOKEN]",
  description: `
Asks a running server (events.list) for the events of the last --hours, newest
first, one line each: when, which GPU, what happened. Without --gpu or --gpu-uuid
the recorder's own events (started, stopped, pruned) are listed too.`,
  options: {
    hours: { type: "string", value: "N", help: "how far back, 1-2160 (default 24)" },
    ...GPU_OPTIONS,
    json: { type: "boolean", help: "print the whole answer as JSON instead" },
    ...SERVER_OPTIONS,
  },
  async run({ values }) {
    const input = eventsInput.safeParse({ hours: numberFlag("--hours", values.hours), ...gpuInputOf(values) });
    if (!input.success) throw flagsRefused(input.error);
    const target = serverTarget(values);
    const client = createTelemetryClient(target.url, { token: target.token ?? undefined, timeoutMs: target.timeoutMs });
    const listing = await askServer(target, () => client.events.list.query(input.data));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
      return;
    }
    if (listing.events.length === 0) {
      process.stdout.write(`no events in the last ${input.data.hours} h\n`);
      return;
    }
    for (const event of listing.events) {
      const gpu = event.gpuIndex === null ? "recorder" : `GPU ${event.gpuIndex}`;
      process.stdout.write(`${formatTime(event.at)}  ${gpu.padEnd(8)}  ${event.message}\n`);
    }
  },
});
