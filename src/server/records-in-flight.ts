import type http from "node:http";

/**
 * History records being read or sent, all requests together. One request's
 * records are bounded by the request budget; this bounds their sum, so fifty
 * requests at once take turns instead of holding fifty answers of several
 * megabytes each. A request waits, first come first served, until its records
 * fit, and gives them back when its response is done or its client has gone.
 */
export class RecordsInFlight {
  private inFlight = 0;
  private readonly waiting: Array<{ records: number; res: http.ServerResponse; admit: (admitted: boolean) => void }> = [];

  constructor(readonly limit: number) {}

  /** Requests waiting for their turn. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Resolves true once the records fit, false when the client went away first. */
  admit(records: number, res: http.ServerResponse): Promise<boolean> {
    // A response closed already would never say so again, and its records would never come back.
    if (res.closed) return Promise.resolve(false);
    // Nothing to count (or nothing countable: a NaN would never fit and would poison the sum).
    if (!(records > 0)) return Promise.resolve(true);
    if (this.waiting.length === 0 && this.inFlight + records <= this.limit) {
      this.take(records, res);
      return Promise.resolve(true);
    }
    return new Promise((admit) => {
      const entry = { records, res, admit };
      this.waiting.push(entry);
      res.once("close", () => {
        const at = this.waiting.indexOf(entry);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        admit(false);
        // Those behind it may fit now.
        this.admitWaiting();
      });
    });
  }

  private take(records: number, res: http.ServerResponse) {
    this.inFlight += records;
    res.once("close", () => {
      this.inFlight -= records;
      this.admitWaiting();
    });
  }

  private admitWaiting() {
    while (this.waiting.length > 0 && this.inFlight + this.waiting[0].records <= this.limit) {
      const next = this.waiting.shift()!;
      this.take(next.records, next.res);
      next.admit(true);
    }
  }
}
