/**
 * An answer asked of the source at most once per `sharedForMs`, concurrent callers
 * sharing one ask: one-shot nvidia-smi queries cost tens of milliseconds of CPU,
 * and every open dashboard asks every few seconds.
 */
export class SharedAnswer<T extends { at: number }> {
  private last: T | null = null;
  private asking: Promise<T> | null = null;

  constructor(
    private readonly ask: () => Promise<T>,
    private readonly sharedForMs: number,
  ) {}

  /**
   * The last answer without waiting (null before the first), asking again in the
   * background when it is stale: for a scrape, which must not wait on a slow query.
   */
  latest(): T | null {
    if (!this.last || Date.now() - this.last.at >= this.sharedForMs) this.current().catch(() => {});
    return this.last;
  }

  current(): Promise<T> {
    if (this.last && Date.now() - this.last.at < this.sharedForMs) return Promise.resolve(this.last);
    return (this.asking ??= this.ask()
      .then((answer) => (this.last = answer))
      .finally(() => (this.asking = null)));
  }
}
