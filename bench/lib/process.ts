import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));

/** The node flags and the environment `npm start` gives the server (package.json). */
export const NPM_START_FLAGS = ["--min-semi-space-size=16", "--max-semi-space-size=16", "--no-memory-reducer"];
export const NPM_START_ENV = { NEXT_TELEMETRY_DISABLED: "1", MALLOC_MMAP_THRESHOLD_: "65536", MALLOC_TRIM_THRESHOLD_: "1048576" };

export interface BenchServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the real server as `npm start` runs it (run scripts/ensure-build.mjs first) on a free port;
 * `bundle` is another build of it to compare with (inside the project folder, which it finds by walking up).
 */
export function startServer(
  env: Record<string, string | undefined>,
  bundle = path.join(ROOT, "dist", "server.mjs"),
  nodeFlags: readonly string[] = NPM_START_FLAGS,
): Promise<BenchServer> {
  const child = spawn(process.execPath, [...nodeFlags, bundle], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", NVOC_LOG_LEVEL: "info", ...NPM_START_ENV, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return listening(child, "server");
}

/** CPU seconds (user + system, the process and its waited-for children) and resident memory, from /proc. */
export function procStat(pid: number): { cpuSeconds: number; rssBytes: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14-17 of stat (utime, stime, cutime, cstime) are at 11-14 after the name.
  const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
  const rssPages = Number(fields[21]);
  return { cpuSeconds: ticks / 100, rssBytes: rssPages * 4096 };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * A server in its own process that answers every request with the same JSON
 * body of `bytes` bytes, built once: the cost of moving an answer of that size
 * through HTTP and the client, which no server work can go below.
 */
export function startStaticServer(bytes: number): Promise<BenchServer> {
  const script = `
    const http = require("node:http");
    const body = Buffer.from(JSON.stringify([{ pad: "x".repeat(${Math.max(0, bytes - 12)}) }]));
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": body.length });
      res.end(body);
    });
    server.listen(0, "127.0.0.1", () => console.log("listening on http://127.0.0.1:" + server.address().port));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  return listening(child, "static server");
}

/** Resolves once the child prints "listening on http://...", with a way to stop it. */
function listening(child: ChildProcess, what: string): Promise<BenchServer> {
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code} before listening`)));
    readline.createInterface({ input: child.stdout! }).on("line", (text) => {
      const match = /listening on (http:\/\/[^\s]+)/.exec(text);
      if (!match) return;
      resolve({
        url: match[1],
        pid: child.pid!,
        stop: () =>
          new Promise((done) => {
            child.removeAllListeners("exit");
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    });
  });
}

/** How long a Node server keeps an idle connection open (http.Server's keepAliveTimeout, left at its default). */
const NODE_KEEP_ALIVE_MS = 5000;

/**
 * Times GETs with curl, the client most scripts use: one curl process asks the
 * urls in turn `rounds` times over kept-alive connections and writes the bodies
 * to /dev/null. Returns each url's times in ms (curl's own time_total per
 * transfer), or null when curl is not installed.
 */
export function curlTimesInTurn(urls: string[], rounds: number): number[][] | null {
  const args = ["--silent", "--show-error", "--write-out", "%{urlnum} %{http_code} %{num_connects} %{time_total}\\n"];
  for (let i = 0; i < rounds; i++) for (const url of urls) args.push("--output", "/dev/null", url);
  const result = spawnSync("curl", args, { encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") return null;
  if (result.status !== 0) throw new Error(`curl exited with ${result.status}: ${result.stderr}`);
  const times = urls.map((): number[] => []);
  let connects = 0;
  let longTurns = 0;
  let turnMs = 0;
  for (const [n, line] of result.stdout.trim().split("\n").entries()) {
    const [urlnum, status, newConnections, seconds] = line.split(" ");
    if (status !== "200") throw new Error(`curl: ${urls[Number(urlnum) % urls.length]} answered HTTP ${status}`);
    connects += Number(newConnections);
    times[Number(urlnum) % urls.length].push(Number(seconds) * 1000);
    turnMs += Number(seconds) * 1000;
    if ((n + 1) % urls.length !== 0) continue;
    if (turnMs > NODE_KEEP_ALIVE_MS) longTurns++;
    turnMs = 0;
  }
  // One connection per server: every other transfer reused one, as a keep-alive client does; but
  // a Node server closes a connection left idle longer than its keep-alive timeout, as it is
  // while Prometheus answers a query of many seconds: one new connection a server after such a turn.
  const allowed = urls.length * (1 + longTurns);
  if (connects > allowed) throw new Error(`curl opened ${connects} connections for ${urls.length} servers (${allowed} allowed)`);
  return times;
}
