import http from "node:http";
import { curlTimesInTurn, percentile } from "./process";

const fmt = (n: number, digits: number) => n.toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** A table cell: the median and 95th percentile of times in ms. */
export const p50p95 = (times: number[]) => `${fmt(percentile(times, 50), 2)} / ${fmt(percentile(times, 95), 2)}`;

/** Times each request `count` times, taking them in turn, after `warmUps` rounds (caches, JIT). */
export async function timeInTurn(count: number, warmUps: number, requests: Array<() => Promise<unknown>>): Promise<number[][]> {
  for (let i = 0; i < warmUps; i++) for (const request of requests) await request();
  const times = requests.map((): number[] => []);
  for (let i = 0; i < count; i++) {
    for (const [k, request] of requests.entries()) {
      const t = performance.now();
      await request();
      times[k].push(performance.now() - t);
    }
  }
  return times;
}

/** A keep-alive HTTP client that asks for no compression, as curl does by default: the body's bytes as they are sent. */
export function plainClient() {
  const agent = new http.Agent({ keepAlive: true });
  const get = (url: string) =>
    new Promise<Buffer>((resolve, reject) => {
      http
        .get(url, { agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(Buffer.concat(chunks))
              : reject(new Error(`${url}: HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 500)}`)),
          );
        })
        .on("error", reject);
    });
  return { get, close: () => agent.destroy() };
}

export type PlainClient = ReturnType<typeof plainClient>;

export interface RoundsOptions {
  /** Turns before timing, at most: fewer (never under 2) when they would take longer than `roundBudgetMs`. */
  warmUps: number;
  rounds: number;
  /** Runs of each request per round, at most. */
  runs: number;
  /** Fewer runs (never under 5) when a round would take longer than this. */
  roundBudgetMs: number;
}

/**
 * Times the requests in turn (one of each, then again) in `rounds` rounds after
 * the warm-ups, so every side meets the same moments of a shared machine.
 * Returns, per request, each round's times in ms.
 */
export function timeRounds(requests: Array<() => Promise<unknown>>, options: RoundsOptions): Promise<number[][][]> {
  return inRounds((count) => timeInTurn(count, 0, requests), requests.length, options);
}

/**
 * timeRounds with curl asking: one curl process a round takes the urls in turn over kept-alive
 * connections, bodies to /dev/null, each time its own `time_total`. A client in this process
 * keeps every body, and after answers of megabytes its garbage collections land in the next
 * request's time. Falls back to `client` where curl is not installed.
 */
export function curlRounds(urls: string[], options: RoundsOptions, client: PlainClient): Promise<number[][][]> {
  if (curlTimesInTurn(urls.slice(0, 1), 1) === null)
    return timeRounds(
      urls.map((url) => () => client.get(url)),
      options,
    );
  return inRounds((count) => Promise.resolve(curlTimesInTurn(urls, count)!), urls.length, options);
}

/** The rounds of timeRounds, each `turns(count)` asking every request `count` times in turn and giving each one's times. */
async function inRounds(turns: (count: number) => Promise<number[][]>, requests: number, options: RoundsOptions): Promise<number[][][]> {
  const warmStart = performance.now();
  let warmUps = 0;
  // Slow requests (Prometheus over months of samples take seconds) warm up within one round's budget, at least twice.
  while (warmUps < options.warmUps && (warmUps < 2 || performance.now() - warmStart < options.roundBudgetMs)) {
    await turns(1);
    warmUps++;
  }
  const turnMs = (performance.now() - warmStart) / Math.max(1, warmUps);
  const runs = Math.max(5, Math.min(options.runs, Math.floor(options.roundBudgetMs / turnMs)));
  const byRequest = Array.from({ length: requests }, (): number[][] => []);
  for (let round = 0; round < options.rounds; round++) {
    const times = await turns(runs);
    for (const [k, roundTimes] of times.entries()) byRequest[k].push(roundTimes);
  }
  return byRequest;
}

/** Rounds of times in ms: the median over all of them, its cell (p50 / p95) and the lowest and highest median of a round. */
export function summarizeRounds(rounds: number[][]): { p50: number; cell: string; p50Spread: string } {
  const medians = rounds.map((times) => percentile(times, 50));
  return {
    p50: percentile(rounds.flat(), 50),
    cell: p50p95(rounds.flat()),
    p50Spread: `${fmt(Math.min(...medians), 2)}-${fmt(Math.max(...medians), 2)}`,
  };
}

/** What a part of the bench is given: a folder of its own, how to time, and where its rows and notes go. */
export interface PartOutput<Row> {
  workDir: string;
  timing: RoundsOptions;
  emit: (row: Row) => void;
  note: (line: string) => void;
}
