import type { Logger } from "../logger";
import { RepeatedFailureLog } from "./repeated-failure-log";

/** What a source was asked on demand: when, whether it can know at all, and why asking failed. */
export interface SourceAnswer<T> {
  /** When the source was asked (epoch ms). */
  at: number;
  /** False when the source cannot know (a replayed file). */
  supported: boolean;
  /** Why asking failed; the items are then empty. */
  error: string | null;
  items: T[];
}

/**
 * A question put to the GPU source only when someone wants the answer (processes,
 * memory errors), asked at most once per `sharedForMs` with concurrent callers
 * sharing one ask (a one-shot nvidia-smi query costs tens of milliseconds of CPU,
 * and every open dashboard asks every few seconds). Failures are logged once a
 * minute and recovery once, never thrown at the caller.
 */
export class AskedOfSource<T> {
  private last: SourceAnswer<T> | null = null;
  private asking: Promise<SourceAnswer<T>> | null = null;
  private readonly failures: RepeatedFailureLog;

  constructor(
    private readonly options: {
      /** Null when the source cannot answer. */
      ask: (() => Promise<T[]>) | null;
      sharedForMs: number;
      /** What is being done, for the log: "listing GPU processes". */
      what: string;
      log: Logger;
    },
  ) {
    this.failures = new RepeatedFailureLog({ log: options.log });
  }

  current(): Promise<SourceAnswer<T>> {
    const last = this.last;
    if (last && fresh(last, this.options.sharedForMs)) return Promise.resolve(last);
    return (this.asking ??= this.askNow()
      .then((answer) => (this.last = answer))
      .finally(() => (this.asking = null)));
  }

  /**
   * The last answer at once (null before the first), asked again in the background
   * when stale: for a scrape, which must not wait on a slow query.
   */
  latest(): SourceAnswer<T> | null {
    if (!this.last || !fresh(this.last, this.options.sharedForMs)) void this.current();
    return this.last;
  }

  /** Never rejects: a failure is an answer with its reason. */
  private async askNow(): Promise<SourceAnswer<T>> {
    const { ask, what } = this.options;
    const at = Date.now();
    if (!ask) return { at, supported: false, error: null, items: [] };
    try {
      const items = await ask();
      this.failures.recovered(`${what} works again`);
      return { at, supported: true, error: null, items };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.failures.failed(message, `${what} failed`, { err: message });
      return { at, supported: true, error: message, items: [] };
    }
  }
}

const fresh = (answer: { at: number }, sharedForMs: number) => Date.now() - answer.at < sharedForMs;
