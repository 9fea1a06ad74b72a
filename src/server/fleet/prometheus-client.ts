import { z } from "zod";
import type { PrometheusSetting } from "../config";
import type { Logger } from "../logger";

/**
 * The few calls of Prometheus' HTTP API the Fleet page needs, shared by Thanos,
 * Mimir and VictoriaMetrics. Every answer is checked against the API's shape;
 * anything else (no answer in time, a refused query, an HTML page from a wrong
 * URL) becomes a PrometheusUnavailable that says which, in words for the page.
 */

const QUERY_TIMEOUT_MS = 10_000;

const sampleValue = z.tuple([z.number(), z.string()]).transform(([t, v]) => ({ t: t * 1000, v: Number(v) }));
const labels = z.record(z.string(), z.string());

const vectorAnswer = z.object({
  status: z.literal("success"),
  data: z.object({ resultType: z.literal("vector"), result: z.array(z.object({ metric: labels, value: sampleValue })) }),
});
const matrixAnswer = z.object({
  status: z.literal("success"),
  data: z.object({ resultType: z.literal("matrix"), result: z.array(z.object({ metric: labels, values: z.array(sampleValue) })) }),
});
const targetsAnswer = z.object({
  status: z.literal("success"),
  data: z.object({
    activeTargets: z.array(z.object({ labels, scrapeInterval: z.string().optional(), health: z.string().optional() })),
  }),
});
const errorAnswer = z.object({ status: z.literal("error"), errorType: z.string().optional(), error: z.string() });

export type InstantSample = z.infer<typeof vectorAnswer>["data"]["result"][number];
export type RangeSeries = z.infer<typeof matrixAnswer>["data"]["result"][number];
export type ScrapeTarget = z.infer<typeof targetsAnswer>["data"]["activeTargets"][number];

export class PrometheusUnavailable extends Error {
  constructor(
    readonly reason: "timeout" | "unreachable" | "refused" | "unexpected",
    message: string,
  ) {
    super(message);
    this.name = "PrometheusUnavailable";
  }
}

export class PrometheusClient {
  private failures = 0;
  /** The URL without credentials: what messages and the page may show. */
  readonly shownUrl: string;
  private readonly base: string;
  private readonly headers: Record<string, string>;

  constructor(
    setting: PrometheusSetting,
    private readonly log: Logger,
    private readonly timeoutMs = QUERY_TIMEOUT_MS,
  ) {
    const url = new URL(setting.url);
    this.headers = { accept: "application/json" };
    if (url.username !== "" || url.password !== "") {
      const basic = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
      this.headers.authorization = `Basic ${Buffer.from(basic).toString("base64")}`;
      url.username = "";
      url.password = "";
    }
    if (setting.token !== null) this.headers.authorization = `Bearer ${setting.token}`;
    this.base = url.href.replace(/\/+$/, "");
    this.shownUrl = this.base;
  }

  /** Queries that failed since the start, for the page and the logs. */
  failureCount(): number {
    return this.failures;
  }

  async instant(query: string, at?: number): Promise<InstantSample[]> {
    const params = new URLSearchParams({ query });
    if (at !== undefined) params.set("time", String(at / 1000));
    return (await this.call("/api/v1/query", params, vectorAnswer)).data.result;
  }

  async range(query: string, from: number, to: number, stepMs: number): Promise<RangeSeries[]> {
    const params = new URLSearchParams({ query, start: String(from / 1000), end: String(to / 1000), step: String(stepMs / 1000) });
    return (await this.call("/api/v1/query_range", params, matrixAnswer)).data.result;
  }

  /** The scrape targets, for their intervals; null where the API has none (Thanos, Mimir). */
  async targets(): Promise<ScrapeTarget[] | null> {
    try {
      return (await this.call("/api/v1/targets", new URLSearchParams({ state: "active" }), targetsAnswer, "GET")).data.activeTargets;
    } catch (error) {
      if (error instanceof PrometheusUnavailable && error.reason !== "timeout" && error.reason !== "unreachable") return null;
      throw error;
    }
  }

  /** Queries go as POST (long selectors stay out of URLs and proxy logs, as Prometheus' own UI does); the rest is GET only. */
  private async call<T>(path: string, params: URLSearchParams, shape: z.ZodType<T>, method: "GET" | "POST" = "POST"): Promise<T> {
    try {
      return await this.fetchChecked(path, params, shape, method);
    } catch (error) {
      const failure = this.explain(error);
      // The targets list is optional (Thanos and Mimir have none): only an unreachable server counts there.
      if (method === "POST" || failure.reason === "timeout" || failure.reason === "unreachable") {
        this.failures++;
        this.log.warn({ prometheus: this.shownUrl, path, reason: failure.reason, err: failure.message }, "Prometheus query failed");
      }
      throw failure;
    }
  }

  private async fetchChecked<T>(path: string, params: URLSearchParams, shape: z.ZodType<T>, method: "GET" | "POST"): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const response =
      method === "GET"
        ? await fetch(`${this.base}${path}?${params}`, { headers: this.headers, signal })
        : await fetch(`${this.base}${path}`, {
            method,
            headers: { ...this.headers, "content-type": "application/x-www-form-urlencoded" },
            body: params.toString(),
            signal,
          });
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new PrometheusUnavailable(
        "unexpected",
        `Prometheus at ${this.shownUrl} answered HTTP ${response.status} with something that is not its query API (is NVOC_PROMETHEUS_URL right?)`,
      );
    }
    const refusal = errorAnswer.safeParse(body);
    if (refusal.success)
      throw new PrometheusUnavailable("refused", `Prometheus at ${this.shownUrl} refused the query: ${refusal.data.error}`);
    if (!response.ok) throw new PrometheusUnavailable("unexpected", `Prometheus at ${this.shownUrl} answered HTTP ${response.status}`);
    const parsed = shape.safeParse(body);
    if (!parsed.success)
      throw new PrometheusUnavailable(
        "unexpected",
        `Prometheus at ${this.shownUrl} answered in an unexpected shape: ${parsed.error.issues[0]?.message}`,
      );
    return parsed.data;
  }

  private explain(error: unknown): PrometheusUnavailable {
    if (error instanceof PrometheusUnavailable) return error;
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError"))
      return new PrometheusUnavailable("timeout", `Prometheus at ${this.shownUrl} did not answer within ${this.timeoutMs / 1000} s`);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    return new PrometheusUnavailable("unreachable", `Prometheus at ${this.shownUrl} cannot be reached: ${cause}`);
  }
}
