import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { DAY_MS } from "../telemetry/durations";
import { isLoopbackHost } from "../telemetry/loopback-host";

/**
 * Every NVOC_* setting, validated once at startup. A bad value stops the
 * process with a message naming the variable (see loadConfig).
 */

const integer = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be at least ${min}`)
    .max(max, `${name} must be at most ${max}`);

/** Shorter tokens are guessable by anyone who can reach the port. */
const MIN_TOKEN_LENGTH = 16;

const isOrigin = (value: string) => {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value.replace(/\/+$/, "");
  } catch {
    return false;
  }
};

/** A DNS name, an IPv4 address or an IPv6 address (bare or in brackets): what a Host header names, without its port. */
const isHostName = (value: string) =>
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(value) ||
  /^\[?[0-9a-f:.]*:[0-9a-f:.]*\]?$/i.test(value);

/** An http(s) URL, credentials allowed (Prometheus behind basic auth), with no query or fragment to confuse the API paths added to it. */
const isHttpBase = (value: string) => {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.search === "" && url.hash === "";
  } catch {
    return false;
  }
};

const httpBase = (name: string, example: string) =>
  z
    .string()
    .trim()
    .refine(isHttpBase, { error: `${name} must be an http:// or https:// URL without a query, like ${example}` })
    .transform((v) => v.replace(/\/+$/, ""));

const flag = z.enum(["0", "1", "true", "false", "yes", "no"]).transform((v) => ["1", "true", "yes"].includes(v));

const sourceSetting = z
  .string()
  .trim()
  .refine((v) => ["auto", "nvml", "nvidia-smi", "simulated"].includes(v) || /^replay:.+/.test(v), {
    error: "NVOC_SOURCE must be auto, nvml, nvidia-smi, simulated or replay:<path to a CSV file>",
  });

const replaySpeed = z
  .string()
  .trim()
  .refine((v) => v === "max" || (Number.isFinite(Number(v)) && Number(v) > 0), {
    error: "NVOC_REPLAY_SPEED must be a positive number or max",
  })
  .transform((v): number | "max" => (v === "max" ? "max" : Number(v)));

/** The variables themselves: `nvidia-oc start` derives one flag from each (src/cli/settings-flags.ts). */
export const envSchema = z.object({
  NVOC_SOURCE: sourceSetting.default("auto"),
  NVOC_INTERVAL_MS: integer("NVOC_INTERVAL_MS", 100, 3_600_000).default(1000),
  NVOC_SIM_GPUS: integer("NVOC_SIM_GPUS", 1, 64).default(2),
  NVOC_REPLAY_SPEED: replaySpeed.default(1),
  NVOC_REPLAY_LOOP: flag.default(false),
  NVOC_DB_PATH: z.string().trim().min(1, "NVOC_DB_PATH must not be empty").optional(),
  NVOC_MAX_DB_MB: integer("NVOC_MAX_DB_MB", 1, 1_000_000).default(500),
  NVOC_RETENTION_DAYS: integer("NVOC_RETENTION_DAYS", 1, 36_500).default(90),
  NVOC_PRUNE_INTERVAL_S: integer("NVOC_PRUNE_INTERVAL_S", 1, 86_400).default(300),
  NVOC_NVIDIA_SMI: z.string().trim().min(1).default("nvidia-smi"),
  NVOC_NVML_LIBRARY: z.string().trim().min(1).default("libnvidia-ml.so.1"),
  NVOC_LOG_LEVEL: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
  NVOC_LOG_FORMAT: z.enum(["auto", "json", "pretty"], { error: "NVOC_LOG_FORMAT must be auto, json or pretty" }).default("auto"),
  NVOC_DEV: flag.default(false),
  NVOC_RECORD_COMMAND_LINES: flag.default(true),
  PORT: integer("PORT", 0, 65_535).default(8000),
  HOST: z.string().trim().min(1, "HOST must not be empty").default("127.0.0.1"),
  NVOC_TOKEN: z
    .string()
    .trim()
    .min(MIN_TOKEN_LENGTH, `NVOC_TOKEN must be at least ${MIN_TOKEN_LENGTH} characters (for example: openssl rand -hex 24)`)
    .optional(),
  NVOC_ALLOW_UNAUTHENTICATED: flag.default(false),
  NVOC_PROMETHEUS_URL: httpBase("NVOC_PROMETHEUS_URL", "http://prometheus.example.org:9090").optional(),
  NVOC_PROMETHEUS_TOKEN: z.string().trim().min(1, "NVOC_PROMETHEUS_TOKEN must not be empty").optional(),
  NVOC_PUBLIC_URL: httpBase("NVOC_PUBLIC_URL", "https://gpu-07.example.org:8000").optional(),
  NVOC_ALLOWED_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter((o) => o !== ""),
    )
    .pipe(
      z.array(
        z.string().refine(isOrigin, { error: "NVOC_ALLOWED_ORIGINS must list origins like https://gpus.example.org, comma-separated" }),
      ),
    )
    .default([]),
  NVOC_ALLOWED_HOSTS: z
    .string()
    .transform((v) =>
      v
        .split(",")
        .map((h) => h.trim())
        .filter((h) => h !== ""),
    )
    .pipe(
      z.array(
        z.string().refine(isHostName, {
          error: "NVOC_ALLOWED_HOSTS must list host names like gpus.example.org or 192.168.1.20 (no scheme, port or path), comma-separated",
        }),
      ),
    )
    .default([]),
});

export type SettingVariable = keyof typeof envSchema.shape;

export type SourceSetting = { kind: "auto" | "nvml" | "nvidia-smi" | "simulated" } | { kind: "replay"; path: string };

export interface Config {
  source: SourceSetting;
  intervalMs: number;
  simulatedGpus: number;
  replaySpeed: number | "max";
  replayLoop: boolean;
  dbPath: string;
  maxDbBytes: number;
  retentionMs: number;
  pruneIntervalMs: number;
  nvidiaSmi: string;
  /** NVML's library: a name the dynamic loader finds, or a path. */
  nvmlLibrary: string;
  logLevel: z.infer<typeof envSchema>["NVOC_LOG_LEVEL"];
  /** json when piped, readable lines on a terminal (auto), or forced. */
  logFormat: z.infer<typeof envSchema>["NVOC_LOG_FORMAT"];
  dev: boolean;
  /** False keeps only the executable's name of each process's command line, live and recorded. */
  recordCommandLines: boolean;
  port: number;
  host: string;
  /** When set, every request must present it (Bearer header or the sign-in cookie). */
  token: string | null;
  /** Origins besides the server's own that may call mutations and open live streams (a reverse proxy's). */
  allowedOrigins: string[];
  /** Host names besides the loopback ones and the bound address that requests may be addressed to (see http/access/host-allow-list.ts). */
  allowedHosts: string[];
  /** The Prometheus-compatible query API the Fleet page reads; null: no Fleet page. */
  prometheus: PrometheusSetting | null;
  /** Where people reach this recorder, as nvoc_info tells Prometheus; null: the address it listens on. */
  publicUrl: string | null;
}

export interface PrometheusSetting {
  /** Base URL, without a trailing slash; user:password in it is sent as basic auth. */
  url: string;
  /** Sent as a bearer token. */
  token: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export const defaultDbPath = () => path.join(os.homedir(), ".cache", "nvidia-oc", "telemetry.db");

/** Reads and validates the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset" so `NVOC_X= npm start` falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? "environment");
        return issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  if (!isLoopbackHost(e.HOST) && e.NVOC_TOKEN === undefined && !e.NVOC_ALLOW_UNAUTHENTICATED) {
    throw new ConfigError([
      `NVOC_TOKEN: required when HOST (${e.HOST}) lets other machines connect; set NVOC_TOKEN, or NVOC_ALLOW_UNAUTHENTICATED=1 to serve without one`,
    ]);
  }
  if (e.NVOC_PROMETHEUS_TOKEN !== undefined && e.NVOC_PROMETHEUS_URL === undefined) {
    throw new ConfigError(["NVOC_PROMETHEUS_TOKEN: set without NVOC_PROMETHEUS_URL, which names where to send it"]);
  }
  const source: SourceSetting = e.NVOC_SOURCE.startsWith("replay:")
    ? { kind: "replay", path: path.resolve(e.NVOC_SOURCE.slice("replay:".length)) }
    : { kind: e.NVOC_SOURCE as "auto" | "nvml" | "nvidia-smi" | "simulated" };
  return {
    source,
    intervalMs: e.NVOC_INTERVAL_MS,
    simulatedGpus: e.NVOC_SIM_GPUS,
    replaySpeed: e.NVOC_REPLAY_SPEED,
    replayLoop: e.NVOC_REPLAY_LOOP,
    dbPath: path.resolve(e.NVOC_DB_PATH ?? defaultDbPath()),
    maxDbBytes: e.NVOC_MAX_DB_MB * 1024 * 1024,
    retentionMs: e.NVOC_RETENTION_DAYS * DAY_MS,
    pruneIntervalMs: e.NVOC_PRUNE_INTERVAL_S * 1000,
    nvidiaSmi: e.NVOC_NVIDIA_SMI,
    nvmlLibrary: e.NVOC_NVML_LIBRARY,
    logLevel: e.NVOC_LOG_LEVEL,
    logFormat: e.NVOC_LOG_FORMAT,
    dev: e.NVOC_DEV,
    recordCommandLines: e.NVOC_RECORD_COMMAND_LINES,
    port: e.PORT,
    host: e.HOST,
    token: e.NVOC_TOKEN ?? null,
    allowedOrigins: e.NVOC_ALLOWED_ORIGINS.map((o) => new URL(o).origin),
    allowedHosts: e.NVOC_ALLOWED_HOSTS.map((h) => h.toLowerCase()),
    prometheus: e.NVOC_PROMETHEUS_URL === undefined ? null : { url: e.NVOC_PROMETHEUS_URL, token: e.NVOC_PROMETHEUS_TOKEN ?? null },
    publicUrl: e.NVOC_PUBLIC_URL ?? null,
  };
}
