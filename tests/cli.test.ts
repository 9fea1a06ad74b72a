import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SETTING_FLAGS } from "../src/cli/settings-flags";
import { createTelemetryClient } from "../src/client/telemetry-client";
import { describeHealth } from "../src/cli/commands/status";
import { noMemoryHealth } from "../src/telemetry/types";
import { envSchema } from "../src/server/config";
import { TelemetryStore } from "../src/server/storage/telemetry-store";
import { CSV_COLUMNS } from "../src/server/rest/records";
import { parseSmiTimestamp, splitCsvLine } from "../src/server/sources/nvidia-smi-csv";
import { fixtureLines, fixturePath } from "./helpers/fixtures";
import {
  expectedStats,
  KNOWN_GPUS,
  knownMetrics,
  metricsOf,
  newestFirst,
  TICKS,
  writeKnownRecording,
  type KnownSample,
} from "./helpers/known-replay";
import { ROOT, waitFor, type LogLine } from "./helpers/server-process";
import { CLI, cliEnv as cliEnvIn, runCliIn } from "./helpers/cli-run";
import { tempDir } from "./helpers/temp-dir";
import { wornMemory } from "./helpers/worn-memory";

const dir = tempDir("nvoc-cli-");
const HOUR = 3_600_000;
const cliEnv = (extra: Record<string, string> = {}) => cliEnvIn(dir, extra);
const runCli = (args: string[], env: Record<string, string> = {}) => runCliIn(dir, args, env);

interface CliServer {
  url: string;
  child: ChildProcess;
  logs: LogLine[];
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** `nvidia-oc start <args>`, resolved once it logs where it listens. */
async function startCli(args: string[]): Promise<CliServer> {
  const child = spawn(process.execPath, [CLI, "start", "--port", "0", "--log-format", "json", ...args], {
    cwd: ROOT,
    env: cliEnv(),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const listening = new Promise<LogLine>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on("line", (text) => {
      try {
        const line = JSON.parse(text) as LogLine;
        logs.push(line);
        if (line.msg.startsWith("nvidia-oc listening")) resolve(line);
      } catch {
        // the page build and Next.js print a few plain lines
      }
    });
    void exited.then((code) => reject(new Error(`nvidia-oc start exited (${code}) before listening:\n${stderr}`)));
  });
  const url = (await listening).url as string;
  return {
    url,
    child,
    logs,
    exited,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `2026/11/26 02:27:37.389`, in local time as nvidia-smi writes it. */
function smiTimestamp(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * The H200's 20 s capture at 1 Hz with the header of its one-shot query, moved
 * to end a minute ago (its spacing kept) so the history API's window holds it.
 * Returns the file and the times it holds, in order.
 */
function recentH200Recording(): { file: string; times: number[] } {
  const header = fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[0];
  const rows = fixtureLines("nvidia-smi", "h200", "loop-1hz.csv").map(splitCsvLine);
  const recorded = rows.map((cells) => parseSmiTimestamp(cells[3])!);
  const shift = Date.now() - 60_000 - recorded[recorded.length - 1];
  const times = recorded.map((t) => t + shift);
  const file = path.join(dir, "h200-recent.csv");
  fs.writeFileSync(
    file,
    [header, ...rows.map((cells, i) => cells.map((cell, c) => (c === 3 ? smiTimestamp(times[i]) : cell)).join(", "))].join("\n") + "\n",
  );
  return { file, times };
}

describe("nvidia-oc: help and usage errors", () => {
  it("--help of every command exits 0 with its usage; start lists a flag for every setting", async () => {
    const commands = ["start", "status", "prune", "export", "import"];
    const results = await Promise.all([runCli(["--help"]), ...commands.map((c) => runCli([c, "--help"])), runCli(["help", "export"])]);
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    expect(results[0].stdout).toMatch(/^Usage: nvidia-oc <command>/);
    for (const command of commands) expect(results[0].stdout).toContain(`  ${command} `);
    commands.forEach((command, i) => expect(results[i + 1].stdout).toMatch(new RegExp(`^Usage: nvidia-oc ${command}`)));
    expect(results[6].stdout).toBe(results[4].stdout);

    const startHelp = results[1].stdout;
    for (const variable of Object.keys(envSchema.shape)) {
      const setting = SETTING_FLAGS.find((s) => s.variable === variable);
      expect(setting, variable).toBeDefined();
      expect(startHelp).toMatch(new RegExp(`--${setting!.flag}\\b.*${variable}`));
    }
    expect(startHelp).toContain("--interval-ms MS");
    expect(startHelp).toMatch(/--replay-loop\s+NVOC_REPLAY_LOOP/);
    // A variable added to config.ts gets its flag at once; this asks for a line saying what it means.
    expect(SETTING_FLAGS.filter((s) => !s.described).map((s) => s.variable)).toEqual([]);
  });

  it("a bad flag or value exits 2 with a message naming it, before anything starts", async () => {
    const cases: Array<[string[], RegExp, Record<string, string>?]> = [
      [["status", "--bogus"], /^nvidia-oc status: --bogus: unknown option$/m],
      [["start", "--interval-ms", "5"], /^nvidia-oc start: --interval-ms: must be at least 100$/m],
      [["start", "--port", "http"], /^nvidia-oc start: --port: must be a number$/m],
      [["start", "--log-level", "loud"], /^nvidia-oc start: --log-level: /m],
      [["start", "--sim-gpus"], /^nvidia-oc start: --sim-gpus: needs a value$/m],
      [["start", "--db-path="], /^nvidia-oc start: --db-path: needs a value$/m],
      [["start", "--host", "0.0.0.0"], /^nvidia-oc start: --token \(NVOC_TOKEN\): required when HOST/m],
      [["start", "--allowed-hosts", "https://gpus.example.org"], /^nvidia-oc start: --allowed-hosts: must list host names/m],
      // Set in the environment, the variable is named instead.
      [["start"], /^nvidia-oc start: NVOC_INTERVAL_MS must be at least 100$/m, { NVOC_INTERVAL_MS: "5" }],
      [["prune", "--force=yes"], /^nvidia-oc prune: --force: takes no value$/m],
      [["export", "--format", "xml"], /^nvidia-oc export: --format: must be csv or json$/m],
      [["export", "--hours", "0"], /^nvidia-oc export: --hours: must be at least 1$/m],
      [["export", "--hours", "1e3"], /^nvidia-oc export: --hours: must be a number/m],
      [["export", "--gpu", "2000"], /^nvidia-oc export: --gpu: must be at most 1023$/m],
      [["status", "--url", "ftp://gpu-box"], /^nvidia-oc status: --url: must be an http/m],
      [["status", "--timeout", "0"], /^nvidia-oc status: --timeout: must be a number of seconds above 0/m],
      [["import"], /^nvidia-oc import: <file>: missing/m],
      [["import", "a.csv", "b.csv"], /^nvidia-oc import: b\.csv: unexpected argument/m],
      [["import", "a.csv", "--interval-ms", "abc"], /^nvidia-oc import: --interval-ms: must be a number$/m],
      [["frobnicate"], /^nvidia-oc: frobnicate: unknown command/m],
      [[], /^Usage: nvidia-oc <command>/m],
    ];
    const results = await Promise.all(cases.map(([args, , env]) => runCli(args, env)));
    results.forEach((result, i) => {
      const [args, message] = cases[i];
      expect(result.code, `nvidia-oc ${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr, `nvidia-oc ${args.join(" ")}`).toMatch(message);
      expect(result.stdout).toBe("");
    });
  });

  it("status and export exit 1 saying how to start a server when none answers", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const [status, exported] = await Promise.all([runCli(["status", "--url", url]), runCli(["export", "--url", url])]);
    for (const result of [status, exported]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`no nvidia-oc server answers at ${url}`);
      expect(result.stderr).toContain("nvidia-oc start");
    }
  });

  it("status, prune and export give up on a server that accepts but never answers, after --timeout", async () => {
    // A stuck server: connections are accepted and then nothing is ever said.
    const stuck = net.createServer(() => {});
    await new Promise<void>((resolve) => stuck.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(stuck.address() as net.AddressInfo).port}`;
    try {
      const results = await Promise.all(
        ["status", "prune", "export"].map((command) => runCli([command, "--url", url, "--timeout", "0.5"])),
      );
      for (const result of results) {
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toContain(`the server at ${url} did not answer within 0.5 s`);
      }
    } finally {
      stuck.close();
    }
  });
});

describe("nvidia-oc start, and the commands that ask it", () => {
  const dbPath = path.join(dir, "live.db");
  const token = "cli-test-token-0123456789abcdef";
  const withToken = { NVOC_TOKEN: token };
  let server: CliServer;
  const client = () => createTelemetryClient(server.url, { token });

  beforeAll(async () => {
    server = await startCli([
      "--source",
      "simulated",
      "--sim-gpus",
      "3",
      "--interval-ms",
      "200",
      "--db-path",
      dbPath,
      "--max-db-mb",
      "50",
      "--retention-days",
      "30",
      "--token",
      token,
    ]);
    // Enough stored for the exports to have rows of every GPU.
    await waitFor(async () => ((await client().collector.status.query()).stored >= 30 ? true : undefined), 20_000, "samples to be stored");
  });

  afterAll(async () => {
    await server?.stop();
  });

  it("serves with the settings its flags gave, and names itself in the database's lock file", async () => {
    const health = await client().health.status.query();
    expect(health.collector.intervalMs).toBe(200);
    expect(health.gpus).toHaveLength(3);
    expect(health.database).toMatchObject({ path: dbPath, available: true, maxBytes: 50 * 1024 * 1024, retentionMs: 30 * 24 * HOUR });
    expect(JSON.parse(fs.readFileSync(`${dbPath}.lock`, "utf8"))).toMatchObject({ pid: server.child.pid, url: server.url });
  });

  it("status finds the server through the lock file and prints a few lines, or JSON", async () => {
    const [text, json] = await Promise.all([
      runCli(["status", "--db-path", dbPath, "--token", token]),
      runCli(["status", "--url", server.url, "--json"], withToken),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^nvidia-oc at ${server.url}, up .+, token required\n`));
    expect(text.stdout).toMatch(/^source\s+3 simulated GPUs/m);
    expect(text.stdout).toMatch(/^collector\s+every 200 ms: [\d,]+ collected, [\d,]+ stored, 0 dropped/m);
    expect(text.stdout).toMatch(
      new RegExp(`^database\\s+${dbPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .* of 50\\.0 MiB, samples kept 30 days`, "m"),
    );
    expect(text.stdout).toMatch(/^GPU 2\s+NVIDIA H200 \(simulated\): [\d.]+ °C/m);
    expect(text.stdout.match(/^\s+memory errors: 0 uncorrected · 0 corrected$/gm)).toHaveLength(3);

    expect(json.code, json.stderr).toBe(0);
    const answer = JSON.parse(json.stdout) as { url: string; ok: boolean; collector: { intervalMs: number }; gpus: unknown[] };
    expect(answer).toMatchObject({ url: server.url, ok: true, collector: { intervalMs: 200 } });
    expect(answer.gpus).toHaveLength(3);
  });

  it("status names a worn GPU's memory errors and its last Xid error under it", async () => {
    const health = await client().health.status.query();
    const [gpu0, gpu1] = health.gpus;
    const at = Date.UTC(2026, 10, 26, 3, 12, 44);
    const text = describeHealth(server.url, health, {
      memoryHealth: {
        at,
        supported: true,
        error: null,
        gpus: [
          { ...wornMemory(gpu1.uuid), gpuIndex: 1 },
          { ...noMemoryHealth(gpu0.uuid), gpuIndex: 0 },
        ],
      },
      xidErrors: {
        supported: true,
        events: [
          { gpuUuid: gpu1.uuid, gpuIndex: 1, xid: 79, meaning: "GPU has fallen off the bus", at },
          { gpuUuid: gpu1.uuid, gpuIndex: 1, xid: 48, meaning: "double-bit ECC error", at: at - 1000 },
        ],
      },
    });
    const under = (index: number) => text.split(/^GPU \d+ /m)[index + 1];
    expect(under(1)).toContain(
      "memory errors: 1 uncorrected · 12 corrected · 6 rows remapped; GPU reset pending, page retirement pending\n",
    );
    expect(under(1)).toMatch(/last Xid 79 \(GPU has fallen off the bus\) at 2026-11-2\d \d\d:12:44, 1 earlier\n/);
    // A GPU that keeps no counters and reported nothing gets neither line.
    expect(under(0)).not.toMatch(/memory errors|Xid/);
  });

  it("without the server's token, status, prune and export say so and exit 1", async () => {
    const [status, prune, exported] = await Promise.all([
      runCli(["status", "--db-path", dbPath]),
      runCli(["prune", "--url", server.url, "--token", "not-the-token-of-this-server"]),
      runCli(["export", "--url", server.url], { NVOC_TOKEN: "not-the-token-of-this-server" }),
    ]);
    expect(status.code).toBe(1);
    expect(status.stderr).toContain(`the server at ${server.url} needs its token: pass --token or set NVOC_TOKEN`);
    for (const refused of [prune, exported]) {
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`the server at ${server.url} refused the token: the token is wrong`);
    }
  });

  it("prune says what was deleted; --force trims, --json gives the numbers", async () => {
    const plain = await runCli(["prune", "--db-path", dbPath], withToken);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(
      /^pruned \(retention\): (nothing to delete|deleted [\d,]+ samples in [\d,]+ chunks); database .+ -> .+ in .+\n$/,
    );

    const forced = await runCli(["prune", "--force", "--json", "--url", server.url, "--token", token]);
    expect(forced.code, forced.stderr).toBe(0);
    const result = JSON.parse(forced.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      reason: "forced",
      deletedChunks: expect.any(Number) as number,
      deletedSamples: expect.any(Number) as number,
      bytesAfter: expect.any(Number) as number,
    });

    const stats = await client().database.stats.query();
    expect(stats.lastPrune).toMatchObject({ reason: "forced" });
  });

  it("export streams CSV and JSON, to stdout and to a file, one GPU or all", async () => {
    const csvFile = path.join(dir, "export.csv");
    const jsonFile = path.join(dir, "export.json");
    const [csvOut, jsonOut, csvToFile, jsonToFile] = await Promise.all([
      runCli(["export", "--db-path", dbPath, "--hours", "1", "--gpu", "1"], withToken),
      runCli(["export", "--url", server.url, "--format", "json", "--hours", "1", "--gpu", "2", "--token", token]),
      runCli(["export", "--url", server.url, "--format", "csv", "--output", csvFile], withToken),
      runCli(["export", "--url", server.url, "--format", "json", "--hours", "2", "-o", jsonFile], withToken),
    ]);
    for (const result of [csvOut, jsonOut, csvToFile, jsonToFile]) expect(result.code, result.stderr).toBe(0);

    const csvRows = (text: string) =>
      text
        .trimEnd()
        .split("\r\n")
        .map((line) => line.split(","));
    const [header, ...rows] = csvRows(csvOut.stdout);
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(rows.length).toBeGreaterThanOrEqual(10);
    for (const row of rows) expect(row).toHaveLength(CSV_COLUMNS.length);
    expect(new Set(rows.map((row) => row[0]))).toEqual(new Set(["1"]));
    const times = rows.map((row) => Date.parse(row[3]));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    const gpu2 = JSON.parse(jsonOut.stdout) as Array<{ gpu_index: number; timestamp: string }>;
    expect(gpu2.length).toBeGreaterThanOrEqual(10);
    expect(new Set(gpu2.map((r) => r.gpu_index))).toEqual(new Set([2]));

    expect(csvToFile.stdout).toBe("");
    expect(csvToFile.stderr).toMatch(/^wrote .+ of CSV to .*export\.csv\n$/);
    const [fileHeader, ...fileRows] = csvRows(fs.readFileSync(csvFile, "utf8"));
    expect(fileHeader).toEqual([...CSV_COLUMNS]);
    expect(new Set(fileRows.map((row) => row[0]))).toEqual(new Set(["0", "1", "2"]));

    expect(jsonToFile.stderr).toMatch(/^wrote .+ of JSON to .*export\.json\n$/);
    const all = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as Array<Record<string, unknown>>;
    expect(new Set(all.map((r) => r.gpu_index))).toEqual(new Set([0, 1, 2]));
    expect(Object.keys(all[0])).toEqual(
      expect.arrayContaining(["gpu_uuid", "timestamp", "temperature", "power_draw", "clock_event_reason_words"]),
    );
  });

  it("import is refused while the server holds the database, naming it", async () => {
    const { file } = recentH200Recording();
    const before = (await client().database.stats.query()).perGpu.map((g) => g.gpuUuid);
    const refused = await runCli(["import", file, "--db-path", dbPath]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`a server is recording into ${dbPath} (pid ${server.child.pid} on `);
    expect(refused.stderr).toContain(`serving ${server.url}`);
    expect(refused.stderr).toContain("two writers must not share the file");
    // Nothing was written, and the lock still names the server.
    expect((await client().database.stats.query()).perGpu.map((g) => g.gpuUuid)).toEqual(before);
    expect(JSON.parse(fs.readFileSync(`${dbPath}.lock`, "utf8"))).toMatchObject({ pid: server.child.pid });
  });

  it("SIGTERM flushes and exits 0, releasing the lock", async () => {
    expect(await server.stop()).toBe(0);
    const stopped = server.logs.find((line) => line.msg === "stopped");
    expect(stopped).toMatchObject({ pending: 0, dropped: 0 });
    expect(fs.existsSync(`${dbPath}.lock`)).toBe(false);
  });
});

describe("nvidia-oc import, then a server on the imported database", () => {
  const dbPath = path.join(dir, "imported.db");
  let server: CliServer | undefined;

  afterAll(async () => {
    await server?.stop();
  });

  it("loads nvidia-smi CSV logs through the real write path and the server serves them", async () => {
    // 650 ticks of two GPUs recorded in January: moved to end now, spacing kept; they cross a 10-minute slot.
    const known = path.join(dir, "known.csv");
    writeKnownRecording(known);
    const importedKnown = await runCli(["import", known, "--db-path", dbPath, "--ending-now"]);
    expect(importedKnown.code, importedKnown.stderr).toBe(0);
    expect(importedKnown.stdout).toContain(
      `imported ${(TICKS * 2).toLocaleString("en")} samples of 2 GPUs (0: NVIDIA H200, 1: NVIDIA GeForce RTX 4090) from ${known} into ${dbPath}`,
    );
    expect(importedKnown.stdout).toContain("times as recorded, shifted to end now");
    // Not a terminal: no bar, only the final line.
    expect(importedKnown.stderr).toMatch(/^100\.0 %\s+1,300 samples\s+[\d,]+\/s\s+in .+\n$/);

    // A real capture, its times kept as recorded.
    const h200 = recentH200Recording();
    const importedH200 = await runCli(["import", h200.file, "--db-path", dbPath]);
    expect(importedH200.code, importedH200.stderr).toBe(0);
    expect(importedH200.stdout).toContain("imported 20 samples of 1 GPU (0: NVIDIA H200)");
    expect(importedH200.stdout).toContain("times as recorded: ");
    // The same file again adds nothing: every sample is already there.
    const again = await runCli(["import", h200.file, "--db-path", dbPath]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("imported 0 samples of 1 GPU (0: NVIDIA H200)");
    expect(again.stdout).toContain("skipped 20 samples the database already held (same GPU, same time)");

    // Sealed chunks and their rollups exist, as when recorded live; the lock is gone.
    const db = new Database(dbPath, { readonly: true });
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect(count("SampleChunk")).toBeGreaterThan(0);
    expect(count("HourlyRollup")).toBeGreaterThan(0);
    expect(count("DailyRollup")).toBeGreaterThan(0);
    db.close();
    expect(fs.existsSync(`${dbPath}.lock`)).toBe(false);

    // A source that ends at once, so the server holds only what was imported.
    const empty = path.join(dir, "header-only.csv");
    fs.writeFileSync(empty, `${fixtureLines("nvidia-smi", "h200", "q-units-idle.csv")[0]}\n`);
    server = await startCli(["--db-path", dbPath, "--source", `replay:${empty}`]);
    const client = createTelemetryClient(server.url);
    const history = await client.telemetry.history.query({ hours: 1, limit: 10_000 });
    expect(history).toHaveLength(TICKS * 2 + 20);

    const knownUuids = new Set<string>(KNOWN_GPUS.map((g) => g.uuid));
    const knownRecords = history.filter((r) => knownUuids.has(r.gpuUuid));
    const end = knownRecords[0].timestamp;
    const expected: KnownSample[] = [];
    for (let i = 0; i < TICKS; i++) {
      for (const gpu of [0, 1] as const) {
        const { index, uuid, name } = KNOWN_GPUS[gpu];
        expected.push({ gpuIndex: index, gpuUuid: uuid, gpuName: name, timestamp: end - (TICKS - 1 - i) * 1000, ...knownMetrics(gpu, i) });
      }
    }
    expect(knownRecords).toEqual(
      newestFirst(expected).map((s) => ({
        gpuIndex: s.gpuIndex,
        gpuUuid: s.gpuUuid,
        gpuName: s.gpuName,
        timestamp: s.timestamp,
        ...metricsOf(s),
      })),
    );
    for (const gpu of [0, 1]) {
      const stats = await client.telemetry.stats.query({ gpuIndex: gpu, hours: 1 });
      expect(stats).toEqual({
        gpuIndex: gpu,
        gpuUuid: KNOWN_GPUS[gpu].uuid,
        hours: 1,
        ...expectedStats(expected.filter((s) => s.gpuIndex === gpu)),
      });
    }

    const h200Records = history.filter((r) => r.gpuUuid === "GPU-8dcb376c-52cc-9fe6-7c25-356490ff3e89");
    expect(h200Records.map((r) => r.timestamp)).toEqual([...h200.times].reverse());
    expect(h200Records.at(-1)).toMatchObject({
      gpuName: "NVIDIA H200",
      temperatureC: 33,
      powerDrawW: 78.93,
      fanSpeedPct: null,
      graphicsClockMhz: 345,
    });

    expect(await server.stop()).toBe(0);
  });

  it("a file without timestamps gets ticks --interval-ms apart ending now; unreadable lines are counted and named", async () => {
    const file = path.join(dir, "no-times.csv");
    fs.writeFileSync(file, "index, temperature.gpu, power.draw [W]\n0, 30, 50.5 W\n1, 31, 51 W\n0, 32, 52 W\nnot a line\n1, 33, 53 W\n");
    const result = await runCli(["import", file, "--db-path", path.join(dir, "no-times.db"), "--interval-ms", "500"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("imported 4 samples of 2 GPUs (0: GPU 0, 1: GPU 1)");
    expect(result.stdout).toContain("times 500 ms apart, ending now (the file has no timestamp column)");
    expect(result.stdout).toContain('skipped 1 unreadable line:\n    line 5: expected 3 columns, got 1: "not a line"');

    // Read through the store: the two ticks may straddle a 10-minute slot, the older one then sealed in a chunk.
    const { store } = TelemetryStore.open(path.join(dir, "no-times.db"));
    const stamps = store.readSamples({ from: 0, to: Number.MAX_SAFE_INTEGER }).map((s) => s.timestamp);
    store.close();
    expect(stamps).toHaveLength(4);
    expect(stamps[2] - stamps[0]).toBe(500);
  });

  it("a file that is not an nvidia-smi CSV with a header is refused with exit 1", async () => {
    const result = await runCli(["import", fixturePath("nvidia-smi", "h200", "loop-1hz.csv"), "--db-path", path.join(dir, "refused.db")]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/loop-1hz\.csv does not start with an nvidia-smi CSV header line/);
    const missing = await runCli(["import", path.join(dir, "missing.csv"), "--db-path", path.join(dir, "refused.db")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot read");
  });
});
