import Database from "better-sqlite3";
import { buildHistoryDatabase, progressEvery10s } from "./lib/history-db";

/**
 * Where the bytes of a history database go, from SQLite's `dbstat` table: each table and
 * index, the chunk rows' data and summary payloads, and the room left empty in their pages.
 *
 *   node --import tsx bench/storage-breakdown.ts --gpus 1 --days 90 [--db path] [--reuse]
 */

const DAY = 86_400_000;

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

const gpus = Number(argument("gpus", "1"));
const days = Number(argument("days", "90"));
const dbPath = argument("db", `/tmp/nvoc-storage-${gpus}x${days}d.db`);
// A fixed end keeps two builds of the same window sample for sample the same.
const endsAt = Number(argument("ends-at", String(Date.UTC(2026, 11, 1))));

if (!process.argv.includes("--reuse")) {
  const built = buildHistoryDatabase(
    dbPath,
    gpus,
    { ticks: Math.floor((days * DAY) / 1000), intervalMs: 1000, endsAt },
    progressEvery10s(),
  );
  console.error(`built ${built.snapshots.toLocaleString("en")} snapshots in ${built.seconds.toFixed(0)} s`);
}

const db = new Database(dbPath, { readonly: true });
const snapshots = (db.prepare(`SELECT sum(rowCount) AS n FROM SampleChunk`).get() as { n: number }).n;
const fileBytes = (db.pragma("page_count", { simple: true }) as number) * (db.pragma("page_size", { simple: true }) as number);
const perSnapshot = (bytes: number) => (bytes / snapshots).toFixed(3);
const parts = db
  .prepare(
    `SELECT name, sum(pgsize) AS pages, sum(payload) AS payload, sum(unused) AS unused FROM dbstat GROUP BY name ORDER BY pages DESC`,
  )
  .all() as Array<{ name: string; pages: number; payload: number; unused: number }>;
const columns = db.prepare(`SELECT sum(length(data)) AS data, sum(length(summary)) AS summary FROM SampleChunk`).get() as {
  data: number;
  summary: number;
};
console.log(`${dbPath}: ${snapshots.toLocaleString("en")} snapshots, ${fileBytes.toLocaleString("en")} bytes`);
console.log(`| part | bytes | bytes per snapshot |\n| --- | ---: | ---: |`);
console.log(`| chunk data | ${columns.data.toLocaleString("en")} | ${perSnapshot(columns.data)} |`);
console.log(`| period summaries beside the chunks | ${columns.summary.toLocaleString("en")} | ${perSnapshot(columns.summary)} |`);
for (const part of parts) {
  console.log(
    `| ${part.name} (pages; of them unused ${part.unused.toLocaleString("en")}) | ${part.pages.toLocaleString("en")} | ${perSnapshot(part.pages)} (unused ${perSnapshot(part.unused)}) |`,
  );
}
const chunkTable = parts.find((part) => part.name === "SampleChunk");
if (chunkTable) {
  const rest = fileBytes - columns.data - columns.summary;
  console.log(`| everything outside chunk data and summaries | ${rest.toLocaleString("en")} | ${perSnapshot(rest)} |`);
}
console.log(`| **whole file** | ${fileBytes.toLocaleString("en")} | **${perSnapshot(fileBytes)}** |`);
db.close();
