import { spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "./server-process";

/** The real command line, spawned as a user runs it: bin/nvidia-oc.mjs. */
export const CLI = path.join(ROOT, "bin", "nvidia-oc.mjs");

/** The environment without any setting of the engineer's shell, and a HOME (`home`) whose default database is the test's. */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("NVOC_") || key === "PORT" || key === "HOST") delete env[key];
  return { ...env, HOME: home, NEXT_TELEMETRY_DISABLED: "1", ...extra };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCliIn(home: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cliEnv(home, env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stdout, stderr })));
}
