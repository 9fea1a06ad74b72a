import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import type { Logger } from "../logger";
import { parseCsvHeader, parseCsvRow, type CsvColumn, type SmiGpuRow } from "./nvidia-smi-csv";
import { TickSplitter, type RowTick } from "./recording-ticks";
import { infoFromRow, sampleFromRow } from "./smi-rows";
import type { GpuSource, SourceSink, SourceStatus } from "./source";
import type { GpuInfo, GpuSample } from "../../telemetry/types";

/**
 * Replays a CSV captured with `nvidia-smi --query-gpu=<fields> --format=csv[,nounits] [-lms N]`
 * (header line first; any subset and order of fields; units or not).
 *
 * - speed 1 / N: ticks are emitted at the recorded pace (N times faster), stamped when emitted;
 * - `max`: everything is written as fast as the store takes it, stamped with the recorded
 *   spacing so that the latest recorded time becomes now (a clock that stepped back puts
 *   the latest elsewhere than on the last line); nothing is stamped after now.
 * Unreadable lines are counted on the first reading of the file only, however often it is read.
 * A tick is the run of lines until a GPU appears a second time.
 */

export interface ReplayOptions {
  file: string;
  speed: number | "max";
  loop: boolean;
  /** Spacing of ticks when the file has no timestamp column. */
  intervalMs: number;
  log: Logger;
}

type RecordedTick = RowTick<SmiGpuRow>;

const BULK_BATCH_SAMPLES = 5000;

export class ReplaySource implements GpuSource {
  private sink: SourceSink | null = null;
  private stopping = false;
  private running = false;
  private done: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly infos = new Map<string, GpuInfo>();
  private stats = { restarts: 0, badLines: 0, lastError: null as string | null, lastErrorAt: null as number | null };

  constructor(private readonly options: ReplayOptions) {}

  start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    this.running = true;
    this.done = this.run()
      .catch((error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.stats.lastError = message;
        this.stats.lastErrorAt = Date.now();
        this.options.log.error({ file: this.options.file }, `replay failed: ${message}`);
      })
      .finally(() => {
        this.running = false;
        if (!this.stopping) this.sink?.ended?.();
      });
    return Promise.resolve();
  }

  async stop() {
    this.stopping = true;
    this.wake?.();
    await this.done;
  }

  status(): SourceStatus {
    const { file, speed, loop } = this.options;
    return {
      kind: "replay",
      synthetic: true,
      detail: `replay of ${path.basename(file)} at ${speed === "max" ? "maximum speed" : `${speed}x`}${loop ? ", looping" : ""}`,
      running: this.running,
      ...this.stats,
    };
  }

  private async run() {
    const { speed, loop } = this.options;
    let pass = 0;
    do {
      const countBadLines = pass === 0;
      if (speed === "max" && pass === 0) await this.replayBulk();
      else await this.replayPaced(speed === "max" ? 1 : speed, countBadLines);
      pass++;
    } while (loop && !this.stopping);
  }

  /** Streams the file's ticks in order; `countBadLines` on the one reading that reports them. */
  private async *ticks(countBadLines: boolean): AsyncGenerator<RecordedTick> {
    const stream = fs.createReadStream(this.options.file, { encoding: "utf8" });
    const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
    let columns: CsvColumn[] | null = null;
    const ticks = new TickSplitter<SmiGpuRow>();
    try {
      for await (const line of lines) {
        if (this.stopping) return;
        if (line.trim() === "") continue;
        if (!columns) {
          columns = parseCsvHeader(line);
          if (!columns.some((c) => c.field !== null)) {
            throw new Error(`${this.options.file} does not start with an nvidia-smi CSV header line`);
          }
          continue;
        }
        const parsed = parseCsvRow(columns, line);
        if (!parsed.ok) {
          if (countBadLines) this.countBadLine(parsed.error);
          continue;
        }
        const ended = ticks.add(parsed.row, parsed.row);
        if (ended) yield ended;
      }
      if (!columns) throw new Error(`${this.options.file} is empty`);
      const last = ticks.finish();
      if (last) yield last;
    } finally {
      lines.close();
      stream.destroy();
    }
  }

  /** Emits each tick at the recorded pace divided by `speed`, stamped when emitted. */
  private async replayPaced(speed: number, countBadLines: boolean) {
    // The schedule starts at the first emission, so no tick comes early relative to it.
    let startedAt: number | null = null;
    let firstRecorded: number | null = null;
    let ordinal = 0;
    for await (const tick of this.ticks(countBadLines)) {
      firstRecorded ??= tick.recordedAt;
      const offset =
        tick.recordedAt !== null && firstRecorded !== null
          ? Math.max(0, tick.recordedAt - firstRecorded)
          : ordinal * this.options.intervalMs;
      ordinal++;
      startedAt ??= Date.now();
      await this.sleepUntil(startedAt + offset / speed);
      if (this.stopping) return;
      const now = Date.now();
      this.emit(tick.rows.map((row) => this.sample(row, now)));
    }
  }

  /** Writes everything at once, stamped so that the latest recorded time is now. */
  private async replayBulk() {
    const recorded = await this.recordedExtent();
    const endsAt = Date.now();
    let batch: GpuSample[] = [];
    let ordinal = 0;
    for await (const tick of this.ticks(true)) {
      // Never after now, even for ticks of a file that grew since it was read ahead.
      const stamp = Math.min(
        endsAt,
        tick.recordedAt !== null && recorded.latest !== null
          ? endsAt - (recorded.latest - tick.recordedAt)
          : endsAt - (recorded.ticks - 1 - ordinal) * this.options.intervalMs,
      );
      ordinal++;
      for (const row of tick.rows) batch.push(this.sample(row, stamp));
      if (batch.length >= BULK_BATCH_SAMPLES) {
        this.emit(batch);
        batch = [];
        // Let the server breathe (requests, live subscribers) between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    if (batch.length > 0) this.emit(batch);
  }

  /** The latest recorded time of any tick (not necessarily the last one's) and the number of ticks. */
  private async recordedExtent(): Promise<{ latest: number | null; ticks: number }> {
    let latest: number | null = null;
    let ticks = 0;
    for await (const tick of this.ticks(false)) {
      ticks++;
      if (tick.recordedAt !== null && (latest === null || tick.recordedAt > latest)) latest = tick.recordedAt;
    }
    return { latest, ticks };
  }

  private sample(row: SmiGpuRow, timestamp: number): GpuSample {
    const index = row.index ?? 0;
    const uuid = row.uuid ?? `replay-${path.basename(this.options.file)}-gpu${index}`;
    let info = this.infos.get(uuid);
    if (!info) {
      info = infoFromRow(row, uuid, index);
      this.infos.set(uuid, info);
      this.sink?.gpus([info]);
    }
    return sampleFromRow(row, info, timestamp);
  }

  private emit(samples: GpuSample[]) {
    void this.sink?.samples(samples);
  }

  /** Waits until the wall clock reaches `at` (timers may fire a little early), or until stopped. */
  private async sleepUntil(at: number): Promise<void> {
    for (let delay = at - Date.now(); delay > 0 && !this.stopping; delay = at - Date.now()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
    }
  }

  private countBadLine(error: string) {
    this.stats.badLines += 1;
    if (this.stats.badLines === 1 || this.stats.badLines % 100 === 0) {
      this.options.log.warn({ badLines: this.stats.badLines, error }, "skipped an unreadable line of the replay file");
    }
  }
}
