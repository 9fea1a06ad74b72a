import { formatCount, formatDuration } from "./format";

/**
 * Progress of a long job on stderr, as `npm run db:generate` shows it: percent
 * done, items, rate and an ETA. On a terminal one line redrawn in place with a
 * bar; otherwise (a log, a pipe) a plain line every few seconds.
 */

const TTY_REDRAW_MS = 100;
const LOG_LINE_MS = 2000;
const BAR_WIDTH = 24;

export class ProgressLine {
  private readonly started = performance.now();
  private lastShown = -Infinity;
  private readonly tty: boolean;

  constructor(
    /** The amount of work, in the unit `update` reports done (bytes of a file, say). */
    private readonly total: number,
    /** What the counted items are: "samples"; or how a count of them is written (sizes, say). */
    private readonly items: string | ((count: number) => string),
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
    // A log gets its first line after a while: a short job writes only its final one.
    if (!this.tty) this.lastShown = this.started;
  }

  update(done: number, itemCount: number) {
    const now = performance.now();
    if (now - this.lastShown < (this.tty ? TTY_REDRAW_MS : LOG_LINE_MS)) return;
    this.lastShown = now;
    this.show(done, itemCount, false);
  }

  /** The last line, always shown. */
  finish(done: number, itemCount: number) {
    this.show(done, itemCount, true);
  }

  private counted(count: number): string {
    return typeof this.items === "string" ? `${formatCount(count)} ${this.items}` : this.items(count);
  }

  /** "1,234/s" of items named by a word, "15.5 MiB/s" of those with their own way of writing. */
  private rateOf(perSecond: number): string {
    return typeof this.items === "string" ? formatCount(perSecond) : this.items(perSecond);
  }

  private show(done: number, itemCount: number, final: boolean) {
    const elapsedMs = performance.now() - this.started;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const rate = itemCount / Math.max(elapsedMs / 1000, 1e-3);
    const eta = fraction > 0 && !final ? (elapsedMs * (1 - fraction)) / fraction : 0;
    const text =
      `${(fraction * 100).toFixed(1).padStart(5)} %  ${this.counted(itemCount)}  ${this.rateOf(Math.round(rate))}/s  ` +
      (final ? `in ${formatDuration(elapsedMs)}` : `ETA ${formatDuration(eta)}`);
    if (!this.tty) {
      this.out.write(`${text}\n`);
      return;
    }
    const filled = Math.round(fraction * BAR_WIDTH);
    // \r and "erase to end of line" redraw the same line; the final one ends it.
    this.out.write(`\r[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${text}\x1b[K${final ? "\n" : ""}`);
  }
}
