import type { Logger } from "../logger";

/**
 * Logs a failure that keeps coming back without flooding the log. A full disk
 * fails every flush, once a second for as long as it lasts: the first failure
 * is logged at once, the same failure again at most once per `repeatEveryMs`
 * (with how often it happened meanwhile), a different one at once, and the end
 * of the run once, saying how long it lasted.
 */

export interface RepeatedFailureLogOptions {
  log: Logger;
  /** Shortest gap between two log lines for the same failure. */
  repeatEveryMs?: number;
  now?: () => number;
}

interface Run {
  since: number;
  failures: number;
  /** The failure logged last; another key is a different failure and is logged at once. */
  key: string;
  loggedAt: number;
  /** Failures with this key since it was last logged. */
  unreported: number;
}

export class RepeatedFailureLog {
  private run: Run | null = null;
  private readonly repeatEveryMs: number;
  private readonly now: () => number;

  constructor(private readonly options: RepeatedFailureLogOptions) {
    this.repeatEveryMs = options.repeatEveryMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** When the current run of failures began; null while things work. */
  get failingSince(): number | null {
    return this.run?.since ?? null;
  }

  /**
   * Records one failure and logs it unless the same one (same `key`: the error
   * without the counts that change each time) was logged less than `repeatEveryMs` ago.
   */
  failed(key: string, message: string, fields: Record<string, unknown> = {}) {
    const now = this.now();
    const run = (this.run ??= { since: now, failures: 0, key, loggedAt: now, unreported: 0 });
    run.failures += 1;
    if (run.failures === 1 || run.key !== key) {
      run.key = key;
      run.loggedAt = now;
      run.unreported = 0;
      this.options.log.error(fields, message);
      return;
    }
    run.unreported += 1;
    if (now - run.loggedAt < this.repeatEveryMs) return;
    const repeats = run.unreported;
    run.loggedAt = now;
    run.unreported = 0;
    this.options.log.error(
      { ...fields, repeats, failingForMs: now - run.since },
      `${message} (failed ${repeats} more times since the last report)`,
    );
  }

  /** Ends the current run of failures, if any; logs `message` with how long it lasted when one is given. */
  recovered(message: string | null, fields: Record<string, unknown> = {}) {
    const run = this.run;
    if (!run) return;
    this.run = null;
    if (message !== null) this.options.log.info({ ...fields, failures: run.failures, failedForMs: this.now() - run.since }, message);
  }
}
