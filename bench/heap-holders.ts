/**
 * What the server's heap holds after the memory bench's heaviest queries: `npx tsx bench/heap-holders.ts`.
 * Starts dist/server.mjs on a copy of the 8 x 90 days database, asks the histories of the
 * query mix, then has the server write a heap snapshot (a full collection comes first) and
 * sums the snapshot's self sizes by constructor.
 *
 *   --gpus N --days D   the history database (default 8 x 90)
 *   --rounds N          requests of each history (default 100)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { cachedHistoryDatabase } from "./lib/history-db";
import { startServer } from "./lib/process";

const { values } = parseArgs({
  options: { gpus: { type: "string", default: "8" }, days: { type: "string", default: "90" }, rounds: { type: "string", default: "100" } },
});
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function rssOf(pid: number): string {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(rollup)?.[1] ?? Number.NaN) * 1024;
  return `RSS ${mb(kb("Rss"))} MB (anonymous ${mb(kb("Anonymous"))})`;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Strings over 64 KB (module sources, mostly), and their total. */
let largeStrings: Array<[number, string]> = [];

/** Self sizes summed by node type and name (constructor), largest first. */
function holders(file: string): Array<[string, number, number]> {
  const snapshot = JSON.parse(fs.readFileSync(file, "utf8")) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const types = snapshot.snapshot.meta.node_types[0];
  const sums = new Map<string, [number, number]>();
  largeStrings = [];
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]];
    const name = type === "object" || type === "native" || type === "closure" ? snapshot.strings[snapshot.nodes[i + nameAt]] : "";
    const key = `${type} ${name}`.slice(0, 80);
    if (type === "string" && snapshot.nodes[i + sizeAt] > 65_536) {
      largeStrings.push([snapshot.nodes[i + sizeAt], snapshot.strings[snapshot.nodes[i + nameAt]].slice(0, 100).replace(/\s+/g, " ")]);
    }
    const sum = sums.get(key) ?? [0, 0];
    sum[0] += snapshot.nodes[i + sizeAt];
    sum[1]++;
    sums.set(key, sum);
  }
  return [...sums].map(([key, [bytes, count]]) => [key, bytes, count] as [string, number, number]).sort((a, b) => b[1] - a[1]);
}

async function main() {
  const source = cachedHistoryDatabase(Number(values.gpus), Number(values.days), "bench");
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-heap-"));
  const dbPath = path.join(workDir, "history.db");
  fs.copyFileSync(source, dbPath);
  const server = await startServer({
    NVOC_DB_PATH: dbPath,
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: values.gpus,
    NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${workDir}`,
  });
  try {
    console.log(`fresh: ${rssOf(server.pid)}`);
    for (const url of ["history?limit=1000&hours=24", "history?limit=10000&hours=24"]) {
      for (let i = 0; i < Number(values.rounds); i++) await (await fetch(`${server.url}/api/telemetry/${url}`)).arrayBuffer();
      console.log(`after ${values.rounds} x ${url}: ${rssOf(server.pid)}`);
    }
    process.kill(server.pid, "SIGUSR2");
    // The snapshot is written under its final name: read once it parses, up to two minutes.
    let rows: Array<[string, number, number]> | undefined;
    for (let waited = 0; waited < 120_000 && rows === undefined; waited += 1000) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const written = fs.readdirSync(workDir).find((name) => name.endsWith(".heapsnapshot"));
      try {
        if (written !== undefined) rows = holders(path.join(workDir, written));
      } catch {
        // Still being written.
      }
    }
    if (rows === undefined) throw new Error("no heap snapshot written");
    const total = rows.reduce((sum, row) => sum + row[1], 0);
    console.log(`heap snapshot: ${mb(total)} MB in ${rows.reduce((sum, row) => sum + row[2], 0)} objects; largest by constructor:`);
    for (const [key, bytes, count] of rows.slice(0, 20)) console.log(`  ${mb(bytes).padStart(6)} MB ${String(count).padStart(8)}  ${key}`);
    largeStrings.sort((a, b) => b[0] - a[0]);
    console.log(
      `strings over 64 KB: ${largeStrings.length}, ${mb(largeStrings.reduce((sum, [bytes]) => sum + bytes, 0))} MB; the largest:`,
    );
    for (const [bytes, start] of largeStrings.slice(0, 12)) console.log(`  ${mb(bytes).padStart(6)} MB  ${start}`);
  } finally {
    await server.stop();
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
