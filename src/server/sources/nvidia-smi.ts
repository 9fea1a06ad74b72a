import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import type { Logger } from "../logger";
import {
  columnsForQuery,
  fieldsWithoutUnknown,
  LOOP_QUERY_FIELDS,
  parseCsvRow,
  parseUnknownFieldError,
  STATIC_QUERY_FIELDS,
  type CsvColumn,
  type SmiGpuRow,
} from "./nvidia-smi-csv";
import { infoFromRow, sampleFromRow } from "./smi-rows";
import type { GpuSource, SourceSink, SourceStatus } from "./source";
import { COMPUTE_APPS_QUERY_FIELDS, parseComputeAppsCsv } from "./nvidia-smi-apps";
import { MEMORY_HEALTH_QUERY_FIELDS, parseMemoryHealthCsv } from "./nvidia-smi-memory-health";
import {
  placeholderGpuInfo,
  type GpuExtraReadings,
  type GpuInfo,
  type GpuMemoryHealth,
  type GpuProcess,
  type GpuSample,
} from "../../telemetry/types";
import { HeldExtraReadings } from "./held-extra-readings";

/**
 * Reads GPUs through nvidia-smi: the static facts once with a one-shot query,
 * then ONE long-lived `nvidia-smi --query-gpu=<changing fields> -lms <interval>`
 * process (spawning per sample costs about 100x the CPU). The process is
 * watched: if it exits or stays silent for three intervals it is restarted
 * with backoff, and a field this driver does not know is dropped, not fatal.
 */

/** A one-shot query (processes, memory errors) takes nvidia-smi well under a second; past this it is stuck. */
const ONE_SHOT_QUERY_TIMEOUT_MS = 5000;

export interface NvidiaSmiOptions {
  command: string;
  intervalMs: number;
  log: Logger;
  /** Silence longer than this many intervals counts as a hang. */
  silentIntervals?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Environment for the nvidia-smi processes; the server's own when omitted. */
  env?: NodeJS.ProcessEnv;
  /** How often the static facts are read again (limits and applications clocks someone changed); 60 s when omitted. */
  factsRecheckMs?: number;
}

/** A one-shot query costs nvidia-smi tens of milliseconds of CPU: once a minute is next to nothing. */
const FACTS_RECHECK_MS = 60_000;

const MAX_FIELD_RETRIES = 10;

/**
 * The fault a row reports instead of readings, or undefined for a row of readings.
 * "[GPU is lost]" only ever means the GPU fell off the bus. A single field may read
 * "[Unknown Error]" on a working GPU, so that counts only when no value was read at all.
 */
function faultOf(line: string, row: SmiGpuRow): string | undefined {
  if (line.includes("[GPU is lost]")) return "GPU is lost";
  if (line.includes("[Unknown Error]") && Object.values(row.metrics).every((value) => value === null)) return "Unknown Error";
  return undefined;
}

export class NvidiaSmiSource implements GpuSource {
  private sink: SourceSink | null = null;
  private child: ChildProcess | null = null;
  private staticFields = [...STATIC_QUERY_FIELDS];
  private loopFields = [...LOOP_QUERY_FIELDS];
  private memoryHealthFields = [...MEMORY_HEALTH_QUERY_FIELDS];
  private columns: CsvColumn[] = columnsForQuery(this.loopFields);
  private readonly infos = new Map<string, GpuInfo>();
  private readonly extras = new HeldExtraReadings();
  private tick: GpuSample[] = [];
  private tickFaults = new Map<string, string>();
  private tickTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private factsTimer: NodeJS.Timeout | null = null;
  private restartTimer: NodeJS.Timeout | null = null;
  private lastOutputAt = 0;
  private linesSinceStart = 0;
  private backoffMs: number;
  private stopping = false;
  private refreshingFacts = false;
  private stats = { restarts: 0, badLines: 0, lastError: null as string | null, lastErrorAt: null as number | null };

  constructor(private readonly options: NvidiaSmiOptions) {
    this.backoffMs = options.minBackoffMs ?? 1000;
  }

  async start(sink: SourceSink) {
    this.sink = sink;
    this.stopping = false;
    await this.refreshStaticFacts();
    this.spawnLoop();
    const period = Math.max(this.options.intervalMs, 250);
    this.watchdog = setInterval(() => this.checkSilence(), period);
    this.watchdog.unref();
    this.factsTimer = setInterval(() => void this.refreshStaticFacts(), this.options.factsRecheckMs ?? FACTS_RECHECK_MS);
    this.factsTimer.unref();
  }

  async stop() {
    this.stopping = true;
    for (const timer of [this.watchdog, this.restartTimer, this.tickTimer, this.factsTimer]) if (timer) clearTimeout(timer);
    this.watchdog = this.restartTimer = this.tickTimer = this.factsTimer = null;
    this.emitTick();
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => child.kill("SIGKILL"), 1000);
        child.once("exit", () => {
          clearTimeout(force);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }
  }

  extraReadings(): ReadonlyMap<string, GpuExtraReadings> {
    return this.extras.all();
  }

  /** One `--query-compute-apps` run: nvidia-smi has no loop mode for it. */
  async processes(): Promise<GpuProcess[]> {
    const args = [`--query-compute-apps=${COMPUTE_APPS_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"];
    const result = await runOnce(this.options.command, args, ONE_SHOT_QUERY_TIMEOUT_MS, this.options.env);
    if (result.code !== 0) throw runFailure(this.options.command, result);
    return parseComputeAppsCsv(result.stdout, COMPUTE_APPS_QUERY_FIELDS);
  }

  /** One `--query-gpu` run of the memory error counters; fields this driver does not know are left out from then on. */
  async memoryHealth(): Promise<GpuMemoryHealth[]> {
    // Each refused field is dropped in turn: at worst all but the uuid.
    for (let attempt = 0; attempt < MEMORY_HEALTH_QUERY_FIELDS.length; attempt++) {
      const fields = this.memoryHealthFields;
      const result = await runOnce(
        this.options.command,
        [`--query-gpu=${fields.join(",")}`, "--format=csv,noheader"],
        ONE_SHOT_QUERY_TIMEOUT_MS,
        this.options.env,
      );
      const unknown = parseUnknownFieldError(result.stdout + result.stderr);
      const retry = unknown && unknown !== "uuid" ? fieldsWithoutUnknown(fields, unknown) : null;
      if (retry) {
        this.memoryHealthFields = retry;
        continue;
      }
      if (result.code !== 0) throw runFailure(this.options.command, result);
      return parseMemoryHealthCsv(result.stdout, fields);
    }
    throw new Error("nvidia-smi rejected every memory error field");
  }

  status(): SourceStatus {
    return {
      kind: "nvidia-smi",
      synthetic: false,
      detail: `${this.options.command} -lms ${this.options.intervalMs} (${this.infos.size} GPU${this.infos.size === 1 ? "" : "s"})`,
      running: this.child !== null && !this.stopping,
      ...this.stats,
    };
  }

  /** One-shot query of the facts that do not change; drops fields this driver rejects. */
  private async refreshStaticFacts(): Promise<void> {
    if (this.refreshingFacts) return;
    this.refreshingFacts = true;
    try {
      for (let attempt = 0; attempt < MAX_FIELD_RETRIES; attempt++) {
        const result = await runOnce(
          this.options.command,
          [`--query-gpu=${this.staticFields.join(",")}`, "--format=csv,noheader,nounits"],
          undefined,
          this.options.env,
        );
        const unknown = parseUnknownFieldError(result.stdout + result.stderr);
        const retry = unknown ? fieldsWithoutUnknown(this.staticFields, unknown) : null;
        if (unknown && retry) {
          this.options.log.warn({ field: unknown }, "nvidia-smi does not know this field: reading without it");
          this.staticFields = retry;
          continue;
        }
        if (result.code !== 0) {
          this.recordError(
            `nvidia-smi static query failed (${result.error ?? `exit ${result.code}`}): ${tail(result.stderr || result.stdout)}`,
          );
          return;
        }
        const columns = columnsForQuery(this.staticFields);
        const infos: GpuInfo[] = [];
        for (const line of result.stdout.split("\n")) {
          if (line.trim() === "") continue;
          const parsed = parseCsvRow(columns, line);
          if (!parsed.ok || parsed.row.index === null) {
            this.countBadLine(parsed.ok ? "row without an index" : parsed.error);
            continue;
          }
          const index = parsed.row.index;
          const info = infoFromRow(parsed.row, parsed.row.uuid ?? `GPU-index-${index}`, index);
          infos.push(info);
          this.extras.note(info.uuid, parsed.row.extras);
        }
        for (const info of infos) this.infos.set(info.uuid, info);
        if (infos.length > 0) this.sink?.gpus(infos);
        return;
      }
    } finally {
      this.refreshingFacts = false;
    }
  }

  private spawnLoop() {
    if (this.stopping) return;
    const args = [`--query-gpu=${this.loopFields.join(",")}`, "--format=csv,noheader,nounits", "-lms", String(this.options.intervalMs)];
    this.columns = columnsForQuery(this.loopFields);
    this.linesSinceStart = 0;
    this.lastOutputAt = Date.now();
    let output = "";
    const child = spawn(this.options.command, args, { stdio: ["ignore", "pipe", "pipe"], env: this.options.env });
    this.child = child;
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      output = (output + chunk).slice(-4000);
    });
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      this.lastOutputAt = Date.now();
      if (this.linesSinceStart++ < 3) output = (output + line + "\n").slice(-4000);
      // nvidia-smi prints an unknown field's error on stdout: not a bad data line, the close handler retries.
      if (parseUnknownFieldError(line) === null) this.acceptLine(line);
    });
    child.once("error", (error) => {
      output += error.message;
    });
    child.once("close", (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.emitTick();
      if (this.stopping) return;
      const unknown = parseUnknownFieldError(output);
      const retry = unknown ? fieldsWithoutUnknown(this.loopFields, unknown) : null;
      if (unknown && retry) {
        this.options.log.warn({ field: unknown }, "nvidia-smi does not know this field: sampling without it");
        this.loopFields = retry;
        this.spawnLoop();
        return;
      }
      this.recordError(`nvidia-smi exited (${signal ?? `code ${code}`})${output.trim() ? `: ${tail(output)}` : ""}`);
      this.scheduleRestart();
    });
  }

  private acceptLine(line: string) {
    if (line.trim() === "") return;
    const parsed = parseCsvRow(this.columns, line);
    if (!parsed.ok) return this.countBadLine(parsed.error);
    const { row } = parsed;
    const info = this.infoFor(row.uuid, row.index);
    if (!info) return this.countBadLine(`a row names neither a known uuid nor an index: "${line.slice(0, 80)}"`);
    // A GPU appears in the tick a second time: the previous tick is complete.
    if (this.tick.some((s) => s.uuid === info.uuid)) this.emitTick();
    this.tick.push(sampleFromRow(row, info, row.timestamp ?? Date.now()));
    this.extras.note(info.uuid, row.extras);
    const fault = faultOf(line, row);
    if (fault) this.tickFaults.set(info.uuid, fault);
    if (this.tick.length >= this.infos.size) this.emitTick();
    else if (!this.tickTimer) {
      // Lines of one tick arrive together; do not wait for the next tick to emit this one.
      this.tickTimer = setTimeout(() => this.emitTick(), Math.min(50, this.options.intervalMs / 4));
    }
  }

  private infoFor(uuid: string | null, index: number | null): GpuInfo | undefined {
    if (uuid) {
      const known = this.infos.get(uuid);
      if (known) return known;
      // A GPU we have not described yet: record it now, and re-read the facts.
      const info = { ...placeholderGpuInfo(index ?? this.infos.size), uuid };
      this.infos.set(uuid, info);
      this.sink?.gpus([info]);
      void this.refreshStaticFacts();
      return info;
    }
    return index === null ? undefined : [...this.infos.values()].find((i) => i.index === index);
  }

  private emitTick() {
    if (this.tickTimer) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    if (this.tick.length === 0) return;
    const samples = this.tick;
    const faults = this.tickFaults;
    this.tick = [];
    this.tickFaults = new Map();
    // A working process resets the backoff.
    this.backoffMs = this.options.minBackoffMs ?? 1000;
    void this.sink?.samples(samples, faults.size > 0 ? faults : undefined);
  }

  private checkSilence() {
    if (!this.child || this.stopping) return;
    const limit = this.options.intervalMs * (this.options.silentIntervals ?? 3) + 1000;
    if (Date.now() - this.lastOutputAt <= limit) return;
    const child = this.child;
    this.child = null;
    this.recordError(`nvidia-smi went silent for ${Date.now() - this.lastOutputAt} ms: restarting it`);
    child.kill("SIGKILL");
    this.scheduleRestart();
  }

  private scheduleRestart() {
    if (this.stopping || this.restartTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.maxBackoffMs ?? 30_000);
    this.stats.restarts += 1;
    this.options.log.warn({ restarts: this.stats.restarts, inMs: delay }, "restarting nvidia-smi");
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.infos.size === 0) void this.refreshStaticFacts().then(() => this.spawnLoop());
      else this.spawnLoop();
    }, delay);
  }

  private countBadLine(error: string) {
    this.stats.badLines += 1;
    // The first bad line and then one in a hundred: a broken driver must not flood the log.
    if (this.stats.badLines === 1 || this.stats.badLines % 100 === 0) {
      this.options.log.warn({ badLines: this.stats.badLines, error }, "skipped an unreadable nvidia-smi line");
    }
  }

  private recordError(message: string) {
    this.stats.lastError = message;
    this.stats.lastErrorAt = Date.now();
    this.options.log.error({ restarts: this.stats.restarts }, message);
  }
}

function tail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 300 ? `…${trimmed.slice(-300)}` : trimmed;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error: string | null;
}

/** Why a one-shot run failed; nvidia-smi prints its complaints (an unknown field, no permission) on stdout. */
function runFailure(command: string, result: RunResult): Error {
  return new Error(result.error ?? (result.stderr.trim() || result.stdout.trim() || `${command} exited with ${result.code}`));
}

/** Runs a command to completion (with a time limit, since a wedged driver can hang nvidia-smi). */
export function runOnce(command: string, args: string[], timeoutMs = 10_000, env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let error: string | null = null;
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs, env });
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", (e) => (error = e.message));
    child.once("close", (code, signal) => {
      if (signal && !error) error = `killed by ${signal}`;
      resolve({ code, stdout, stderr, error });
    });
  });
}
