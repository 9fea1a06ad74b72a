import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import type { AppRouter } from "../../src/server/routers/_app";
import { wireTransformer } from "../../src/telemetry/wire-columns";

export const ROOT = path.dirname(path.dirname(path.dirname(fileURLToPath(import.meta.url))));

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  logs: LogLine[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line matching, or rejects after `timeoutMs`. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface StartOptions {
  /**
   * A command that runs the rest of its arguments, put in front of node, e.g.
   * `["bash", "-c", "ulimit -S -f 1024 && exec \"$@\"", "bash"]`; it must `exec`
   * so that the child's pid is the server's.
   */
  launchVia?: string[];
}

/**
 * Starts the server exactly as `npm start` runs it (the bundle tests/global-setup.ts
 * builds from src/server), on an ephemeral port, and waits until it listens.
 */
export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 60_000,
  options: StartOptions = {},
): Promise<ServerProcess> {
  const [command, ...args] = [
    ...(options.launchVia ?? []),
    process.execPath,
    "--min-semi-space-size=16",
    "--max-semi-space-size=16",
    "--no-memory-reducer",
    path.join(ROOT, "dist", "server.mjs"),
  ];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: "0",
      NVOC_LOG_LEVEL: "info",
      NEXT_TELEMETRY_DISABLED: "1",
      MALLOC_MMAP_THRESHOLD_: "65536",
      MALLOC_TRIM_THRESHOLD_: "1048576",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  const waiters = new Set<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }>();
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  readline.createInterface({ input: child.stdout }).on("line", (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      return; // Next.js prints a few plain lines of its own
    }
    logs.push(line);
    for (const waiter of waiters) if (waiter.match(line)) waiter.resolve(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );

  const waitForLog = (match: (line: LogLine) => boolean, ms = 30_000) => {
    const seen = logs.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<LogLine>((resolve, reject) => {
      const waiter = {
        match,
        resolve: (line: LogLine) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`no matching log line within ${ms} ms; logs:\n${logs.map((l) => l.msg).join("\n")}\n${stderr}`));
      }, ms);
      waiters.add(waiter);
      void exited.then(({ code }) => {
        if (!waiters.has(waiter)) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        reject(new Error(`server exited (code ${code}) before the expected log line:\n${stderr}`));
      });
    });
  };

  const listening = await waitForLog((l) => typeof l.msg === "string" && l.msg.startsWith("nvidia-oc listening"), timeoutMs);
  return {
    url: listening.url as string,
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** The fake nvidia-smi, answering with the H200 captures (knobs: FAKE_SMI_* in its header). */
export const FAKE_SMI = path.join(ROOT, "tests", "fake-nvidia-smi", "nvidia-smi");

/** A server sampling two GPUs of the fake nvidia-smi every 200 ms into `dbPath`, with the fake's `knobs`. */
export function startOnFakeSmi(dbPath: string, knobs: Record<string, string> = {}): Promise<ServerProcess> {
  return startServerProcess({
    NVOC_SOURCE: "nvidia-smi",
    NVOC_NVIDIA_SMI: FAKE_SMI,
    NVOC_INTERVAL_MS: "200",
    NVOC_DB_PATH: dbPath,
    FAKE_SMI_GPUS: "2",
    ...knobs,
  });
}

export function trpcClient(url: string) {
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${url}/api/trpc`, transformer: wireTransformer })] });
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
