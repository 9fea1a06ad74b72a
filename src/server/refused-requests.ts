import type { Logger } from "./logger";

/** The limit a refused request went over, as the metric's label names it. */
export type RequestLimit = "batch_calls" | "records" | "series_values";

/**
 * Requests refused for asking more work than one request may: counted per
 * limit (for /metrics) and logged as a warning at most once per 10 s with the
 * count since, so a client repeating an oversized request cannot flood the log.
 */
export class RefusedRequests {
  private readonly counts = new Map<RequestLimit, number>();
  private unlogged = 0;
  private loggedAt = -Infinity;

  constructor(private readonly log: Logger) {}

  note(limit: RequestLimit, message: string, remote: string | undefined) {
    this.counts.set(limit, (this.counts.get(limit) ?? 0) + 1);
    this.unlogged++;
    const now = Date.now();
    if (now - this.loggedAt < 10_000) return;
    this.log.warn({ limit, remote, refused: this.unlogged }, `refused a request over its limits: ${message}`);
    this.unlogged = 0;
    this.loggedAt = now;
  }

  /** Refusals per limit since the server started. */
  totals(): ReadonlyMap<RequestLimit, number> {
    return this.counts;
  }
}
