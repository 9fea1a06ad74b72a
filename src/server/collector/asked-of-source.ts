import type { Logger } from "../logger";
import { RepeatedFailureLog } from "./repeated-failure-log";
import { SharedAnswer } from "./shared-answer";

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
 * memory errors), shared between callers for a while, with failures logged once
 * a minute and recovery logged once, never thrown at the caller.
 */
export class AskedOfSource<T> {
  private readonly shared: SharedAnswer<SourceAnswer<T>>;
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
    this.shared = new SharedAnswer(() => this.askNow(), options.sharedForMs);
  }

  current(): Promise<SourceAnswer<T>> {
    return this.shared.current();
  }

  /** The last answer at once (null before the first), asked again in the background when stale. */
  latest(): SourceAnswer<T> | null {
    return this.shared.latest();
  }

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
