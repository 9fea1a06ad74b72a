/**
 * The browser's EventSource retries a dropped stream by itself, every few
 * seconds for as long as the server is away, and logs every failed try. This
 * one closes at its first failure instead, so the live provider retries on
 * its own schedule, backing off. A class made on demand: the server renders
 * pages where no EventSource exists.
 */
export function singleTryEventSource(): typeof EventSource | undefined {
  if (typeof EventSource === "undefined") return undefined;
  return class SingleTryEventSource extends EventSource {
    constructor(url: string | URL, init?: EventSourceInit) {
      super(url, init);
      // Added before any listener of the link's: by the time it looks, the stream reads as closed, not reconnecting.
      this.addEventListener("error", () => {
        if (this.readyState === EventSource.CONNECTING) this.close();
      });
    }
  };
}
