/**
 * `npm run test:faults`: the built server writing many simulated GPUs at a
 * fast interval into one database file is SIGKILLed 20 times, restarting on
 * the same file each time, then stopped once with SIGTERM. After every kill
 * PRAGMA integrity_check must say ok and at most one flush interval of samples
 * may be missing; after the SIGTERM every collected sample must be stored.
 * Prints a table and the machine, and exits 1 on any failure.
 *
 *   --kills N      SIGKILL rounds (20)
 *   --gpus N       simulated GPUs (64, the most NVOC_SIM_GPUS allows)
 *   --interval MS  sampling interval (100, the shortest NVOC_INTERVAL_MS allows)
 *   --db PATH      database file (a fresh one in a temporary folder)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { killRound, resultTable, samplesPerFlush, termRound, type DrillLoad, type RoundResult } from "./lib/fault-drill";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "20" },
    gpus: { type: "string", default: "64" },
    interval: { type: "string", default: "100" },
    db: { type: "string" },
  },
});

const positive = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`fault-drill: --${name} must be a whole number above 0 (got ${text})`);
    process.exit(2);
  }
  return n;
};

const kills = positive("kills", values.kills);
const scratch = values.db ? null : fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-fault-drill-"));
const load: DrillLoad = {
  dbPath: path.resolve(values.db ?? path.join(scratch!, "telemetry.db")),
  gpus: positive("gpus", values.gpus),
  intervalMs: positive("interval", values.interval),
};

const built = spawnSync(process.execPath, [path.join(root, "scripts", "ensure-build.mjs")], { cwd: root, stdio: "inherit" });
if (built.status !== 0) process.exit(built.status ?? 1);

const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? os.cpus()[0]?.model ?? "unknown";
console.log(
  `fault drill: ${kills} SIGKILLs and 1 SIGTERM; ${load.gpus} simulated GPUs every ${load.intervalMs} ms ` +
    `(${(load.gpus * 1000) / load.intervalMs} samples/s, ${samplesPerFlush(load)} per flush); ${load.dbPath}`,
);
console.log(`machine: ${os.cpus().length} CPUs (nproc), ${cpu}; Node ${process.version}; ${os.type()} ${os.release()}`);

const results: RoundResult[] = [];
// Kill after 5 to 40 ticks stored: sometimes right after start-up, sometimes well into the run.
const ticksBeforeSignal = () => 5 + Math.floor(Math.random() * 36);
let aborted: unknown = null;
try {
  for (let round = 1; round <= kills + 1; round++) {
    const signal = round <= kills ? "SIGKILL" : "SIGTERM";
    const result = await (signal === "SIGKILL" ? killRound : termRound)(load, round, ticksBeforeSignal());
    results.push(result);
    console.log(
      `round ${round}/${kills + 1}: ${signal} after ${(result.ranMs / 1000).toFixed(1)} s, lost ${result.lost}, integrity_check ${result.integrity}`,
    );
  }
} catch (error) {
  // A server that will not start again on the file is a failure of the drill, not of the script.
  aborted = error;
} finally {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
}

console.log(`\n${resultTable(results)}\n`);
const killResults = results.filter((r) => r.signal === "SIGKILL");
const failed = results.filter((r) => r.problems.length > 0);
console.log(
  `SIGKILL: ${killResults.length} rounds, integrity_check ok in ${killResults.filter((r) => r.integrity === "ok").length}, ` +
    `most lost ${Math.max(0, ...killResults.map((r) => r.lost))} samples (one flush interval is ${samplesPerFlush(load)}).`,
);
if (aborted !== null)
  console.log(
    `fault drill ABORTED in round ${results.length + 1}: ${aborted instanceof Error ? aborted.message : JSON.stringify(aborted)}`,
  );
else console.log(failed.length === 0 ? "fault drill passed" : `fault drill FAILED in ${failed.length} round(s)`);
process.exit(aborted === null && failed.length === 0 ? 0 : 1);
