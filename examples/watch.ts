// In a project that installed nvidia-oc: `from "nvidia-oc/client"`. Here, the client's source:
// the package's export is the compiled client, built only by `npm pack`.
import { createTelemetryClient } from "../src/client/telemetry-client";

/**
 * Prints each GPU's statistics of the last hour, then every live snapshot as it
 * is collected, through the typed client.
 *
 *   npx tsx examples/watch.ts [http://127.0.0.1:8000] [snapshots]
 *
 * Stops after `snapshots` live snapshots when given, otherwise on Ctrl-C.
 */

const url = process.argv[2] ?? "http://127.0.0.1:8000";
const wanted = process.argv[3] === undefined ? Infinity : Number(process.argv[3]);
// A server started with NVOC_TOKEN needs the same token here.
const client = createTelemetryClient(url, { token: process.env.NVOC_TOKEN });

const fmt = (value: number | null, unit: string) => (value === null ? "n/a" : `${value}${unit}`);
const range = (m: { min: number | null; max: number | null; avg: number | null }, unit: string) =>
  m.avg === null ? "n/a" : `${m.min}-${m.max}${unit} (avg ${m.avg}${unit})`;

const health = await client.health.status.query();
console.log(`${url}: ${health.source.detail}${health.synthetic ? " (not a real GPU)" : ""}`);

for (const gpu of await client.gpus.list.query()) {
  try {
    // By UUID: a card swapped out keeps its own history, though another now holds its index.
    const stats = await client.telemetry.stats.query({ gpuUuid: gpu.uuid, hours: 1 });
    console.log(
      `GPU ${gpu.index} ${gpu.name}: ${stats.recordCount} samples in the last hour, ` +
        `temperature ${range(stats.temperature, " °C")}, power ${range(stats.powerDraw, " W")}, utilization avg ${fmt(stats.utilizationAvg, " %")}`,
    );
  } catch (error) {
    // Live data still flows when the database is down; say why history is missing and go on.
    console.log(`GPU ${gpu.index} ${gpu.name}: no statistics (${error instanceof Error ? error.message : String(error)})`);
  }
}

let received = 0;
const subscription = client.telemetry.live.subscribe(undefined, {
  onData({ id, data }) {
    for (const s of data.samples) {
      console.log(
        `#${id} ${new Date(s.timestamp).toISOString()} GPU ${s.index}: ${fmt(s.temperatureC, " °C")}, ${fmt(s.powerDrawW, " W")}, ` +
          `${fmt(s.graphicsClockMhz, " MHz")}, ${fmt(s.gpuUtilizationPct, " %")} busy`,
      );
    }
    if (++received >= wanted) subscription.unsubscribe();
  },
  onError(error) {
    console.error(`live stream failed: ${error.message}`);
    process.exitCode = 1;
    subscription.unsubscribe();
  },
});
process.once("SIGINT", () => subscription.unsubscribe());
