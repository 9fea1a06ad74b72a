import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * The calls of one tRPC batch run one after another, each in a turn of the
 * event loop of its own. tRPC starts them all at once, and their work is
 * synchronous: together they would run as one long turn with no room for the
 * collector's timer, however small each call is.
 */
export interface Turns {
  take<T>(work: () => Promise<T>): Promise<T>;
}

export function createTurns(): Turns {
  let previous: Promise<unknown> = Promise.resolve();
  return {
    take(work) {
      const run = previous.then(() => nextTurn()).then(work);
      // The next call waits for this one to end, however it ends.
      previous = run.catch(() => undefined);
      return run;
    },
  };
}
