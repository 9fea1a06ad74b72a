import fs from "node:fs";
import { startServerProcess, trpcClient, waitFor, type ServerProcess } from "../../tests/helpers/server-process";
import { checkDatabase, checkDatabaseCopy } from "./database-check";

/**
 * Rounds of the fault drill (`npm run test:faults`, tests/kill-drill.test.ts):
 * the built server under heavy writes on one database file, stopped the hard
 * way (SIGKILL) or the polite way (SIGTERM), and the file checked after each.
 *
 * A SIGKILL may lose what was collected since the last flush and no more: the
 * loss is the samples the server had counted as collected just before the kill
 * (its own collector.status) that the file does not hold afterwards. A SIGTERM
 * loses nothing: every sample the collector counted is in the file.
 */

export interface DrillLoad {
  dbPath: string;
  gpus: number;
  intervalMs: number;
}

export interface RoundResult {
  round: number;
  signal: "SIGKILL" | "SIGTERM";
  /** Milliseconds from the server listening to the signal. */
  ranMs: number;
  /** Samples this run of the server had collected (at the last status before a kill; at exit after a SIGTERM). */
  collected: number;
  /** Of those, waiting to be written when the last status was taken (SIGKILL) or at exit (SIGTERM). */
  pending: number;
  storedBefore: number;
  storedAfter: number;
  /** Collected samples the file does not hold. */
  lost: number;
  /** The most that may be lost: one flush interval of samples for a SIGKILL, none for a SIGTERM. */
  allowedLoss: number;
  integrity: string;
  /** Why the round failed; empty when it passed. */
  problems: string[];
}

/** The collector flushes at least once a second, and at every interval when that is shorter. */
export function samplesPerFlush(load: DrillLoad): number {
  const flushMs = Math.min(1000, load.intervalMs);
  return load.gpus * Math.ceil(flushMs / load.intervalMs);
}

function storedNow(dbPath: string): number {
  return fs.existsSync(dbPath) ? checkDatabaseCopy(dbPath).samples : 0;
}

function start(load: DrillLoad): Promise<ServerProcess> {
  return startServerProcess({
    NVOC_SOURCE: "simulated",
    NVOC_SIM_GPUS: String(load.gpus),
    NVOC_INTERVAL_MS: String(load.intervalMs),
    NVOC_DB_PATH: load.dbPath,
  });
}

/**
 * Readers beside the writes, as a dashboard would have them: history queries
 * one after another until stopped. Their errors while the server dies are expected.
 */
function readLoad(url: string): () => Promise<void> {
  const client = trpcClient(url);
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        await client.telemetry.history.query({ hours: 1, limit: 1000 });
      } catch {
        return;
      }
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

/** Waits until this run of the server has stored `samples` samples, and returns its status then. */
function writesUnderWay(server: ServerProcess, samples: number) {
  const client = trpcClient(server.url);
  return waitFor(
    async () => {
      const status = await client.collector.status.query();
      return status.stored >= samples ? status : undefined;
    },
    60_000,
    `${samples} stored samples`,
  );
}

/** Starts the server, lets it store `ticks` ticks of samples under read load, and SIGKILLs it. */
export async function killRound(load: DrillLoad, round: number, ticks: number): Promise<RoundResult> {
  const storedBefore = storedNow(load.dbPath);
  const server = await start(load);
  const listeningAt = Date.now();
  const stopReading = readLoad(server.url);
  const status = await writesUnderWay(server, ticks * load.gpus);
  server.child.kill("SIGKILL");
  const ranMs = Date.now() - listeningAt;
  await server.exited;
  await stopReading();
  const check = checkDatabaseCopy(load.dbPath);
  // Samples collected after the status was taken may be stored too; they are not counted as collected.
  const lost = Math.max(0, storedBefore + status.collected - check.samples);
  const allowedLoss = samplesPerFlush(load);
  const problems: string[] = [];
  if (check.integrity !== "ok") problems.push(`integrity_check: ${check.integrity}`);
  if (lost > allowedLoss) problems.push(`lost ${lost} samples, more than one flush interval (${allowedLoss})`);
  return {
    round,
    signal: "SIGKILL",
    ranMs,
    collected: status.collected,
    pending: status.pending,
    storedBefore,
    storedAfter: check.samples,
    lost,
    allowedLoss,
    integrity: check.integrity,
    problems,
  };
}

/** Starts the server, lets it store `ticks` ticks under read load, SIGTERMs it and expects every collected sample in the file. */
export async function termRound(load: DrillLoad, round: number, ticks: number): Promise<RoundResult> {
  const storedBefore = storedNow(load.dbPath);
  const server = await start(load);
  const listeningAt = Date.now();
  const stopReading = readLoad(server.url);
  await writesUnderWay(server, ticks * load.gpus);
  server.child.kill("SIGTERM");
  const ranMs = Date.now() - listeningAt;
  const exit = await server.exited;
  await stopReading();
  const problems: string[] = [];
  if (exit.code !== 0) problems.push(`exit ${exit.signal ?? `code ${exit.code}`}`);
  const stopped = server.logs.find((l) => l.msg === "stopped");
  const count = (key: string) => (typeof stopped?.[key] === "number" ? stopped[key] : Number.NaN);
  const [collected, stored, dropped, pending] = ["collected", "stored", "dropped", "pending"].map(count);
  if (!stopped) problems.push("no `stopped` line in the log");
  if (dropped !== 0) problems.push(`dropped ${dropped}`);
  if (pending !== 0) problems.push(`${pending} still pending at exit`);
  if (stored !== collected) problems.push(`collector stored ${stored} of ${collected}`);
  const check = checkDatabase(load.dbPath);
  if (check.integrity !== "ok") problems.push(`integrity_check: ${check.integrity}`);
  const lost = storedBefore + collected - check.samples;
  if (lost !== 0) problems.push(`the file holds ${check.samples}, expected ${storedBefore + collected}`);
  return {
    round,
    signal: "SIGTERM",
    ranMs,
    collected,
    pending,
    storedBefore,
    storedAfter: check.samples,
    lost,
    allowedLoss: 0,
    integrity: check.integrity,
    problems,
  };
}

/** The results as a Markdown table. */
export function resultTable(results: RoundResult[]): string {
  const header = [
    "round",
    "signal",
    "ran (s)",
    "collected",
    "pending at signal",
    "stored before",
    "stored after",
    "lost",
    "allowed",
    "integrity_check",
    "result",
  ];
  const rows = results.map((r) => [
    String(r.round),
    r.signal,
    (r.ranMs / 1000).toFixed(1),
    String(r.collected),
    String(r.pending),
    String(r.storedBefore),
    String(r.storedAfter),
    String(r.lost),
    String(r.allowedLoss),
    r.integrity,
    r.problems.length === 0 ? "ok" : `FAILED: ${r.problems.join("; ")}`,
  ]);
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}
