import { createTelemetryClient } from "../../client/telemetry-client";
import type { PruneResult } from "../../server/storage/retention";
import { defineCommand } from "../command";
import { formatCount, formatDuration } from "../format";
import { formatBytes } from "../../telemetry/format-bytes";
import { askServer } from "../server-failure";
import { SERVER_OPTIONS, serverTarget } from "../server-target";

export const pruneCommand = defineCommand({
  name: "prune",
  summary: "delete samples past the retention or over the size cap now",
  synopsis: "[--force] [--json] [--url URL] [--db-path FILE] [--token TOKEN]",
  description: `
Asks a running server to prune now (database.prune) and prints what it deleted.
Without --force it deletes what the retention and the size cap would delete on
their own; --force also trims the file down to its low-water mark (70 % of the cap).`,
  options: {
    force: { type: "boolean", help: "trim to the low-water mark even when under the cap" },
    json: { type: "boolean", help: "print the result as JSON" },
    ...SERVER_OPTIONS,
  },
  async run({ values }) {
    const target = serverTarget(values);
    const client = createTelemetryClient(target.url, { token: target.token ?? undefined, timeoutMs: target.timeoutMs });
    const result = await askServer(target, () => client.database.prune.mutate({ force: values.force ?? false }));
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : describePrune(result));
  },
});

export function describePrune(result: PruneResult): string {
  const deleted =
    result.deletedSamples > 0 || result.deletedChunks > 0
      ? `deleted ${formatCount(result.deletedSamples)} samples in ${formatCount(result.deletedChunks)} chunks`
      : "nothing to delete";
  return `pruned (${result.reason}): ${deleted}; database ${formatBytes(result.bytesBefore)} -> ${formatBytes(result.bytesAfter)} in ${formatDuration(result.durationMs)}\n`;
}
