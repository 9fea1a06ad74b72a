import Database from "better-sqlite3";
import { buildHistoryDatabase, progressEvery10s } from "./lib/history-db";

/**
 * Where the bytes of a history database go, from SQLite's `dbstat` table: the chunk rows' data
 * and summaries, the room left empty in their pages, their headers, the rollups, the chunk
 * indexes and every other table, per snapshot; then each table and index.
 *
 *   node --import tsx bench/storage-breakdown.ts --gpus 1 --days 90 [--db path] [--reuse] [--ends-at ms]
 *
 * Builds the database through the store's write path first, unless `--reuse` names one built before.
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
const tables = db
  .prepare(`SELECT name, sum(pgsize) AS pages, sum(unused) AS unused FROM dbstat GROUP BY name ORDER BY pages DESC`)
  .all() as Array<{ name: string; pages: number; unused: number }>;
const pagesOf = (...names: string[]) => tables.filter((t) => names.includes(t.name)).reduce((sum, t) => sum + t.pages, 0);
const columns = db.prepare(`SELECT sum(length(data)) AS data, sum(length(summary)) AS summary FROM SampleChunk`).get() as {
  data: number;
  summary: number;
};
const chunkTable = tables.find((t) => t.name === "SampleChunk") ?? { pages: 0, unused: 0 };
const rollups = pagesOf("HourlyRollup", "DailyRollup", "sqlite_autoindex_HourlyRollup_1", "sqlite_autoindex_DailyRollup_1");
const chunkIndexes = pagesOf("SampleChunk_gpuId_startTs_idx", "SampleChunk_startTs_idx");
const parts: Array<[string, number]> = [
  ["chunk data", columns.data],
  ["period summaries beside the chunks", columns.summary],
  ["room left empty in the chunks' pages", chunkTable.unused],
  ["chunk row and cell headers, the table's interior pages", chunkTable.pages - chunkTable.unused - columns.data - columns.summary],
  ["hourly and daily rollups with their keys' indexes", rollups],
  ["both chunk indexes", chunkIndexes],
  ["every other table", fileBytes - chunkTable.pages - rollups - chunkIndexes],
  ["**summaries and everything outside the chunk data**", fileBytes - columns.data],
  ["**whole file**", fileBytes],
];
console.log(`${dbPath}: ${snapshots.toLocaleString("en")} snapshots, ${fileBytes.toLocaleString("en")} bytes`);
console.log(`| part | bytes | bytes per snapshot |\n| --- | ---: | ---: |`);
for (const [name, bytes] of parts) console.log(`| ${name} | ${bytes.toLocaleString("en")} | ${perSnapshot(bytes)} |`);
console.log(`\n| table or index | pages (bytes) | of them unused | bytes per snapshot |\n| --- | ---: | ---: | ---: |`);
for (const t of tables)
  console.log(`| ${t.name} | ${t.pages.toLocaleString("en")} | ${t.unused.toLocaleString("en")} | ${perSnapshot(t.pages)} |`);
db.close();
