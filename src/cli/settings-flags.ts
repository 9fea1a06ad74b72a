import { ConfigError, defaultDbPath, envSchema, loadConfig, type Config, type SettingVariable } from "../server/config";
import { badFlag, UsageError, type OptionSpec, type OptionSpecs } from "./command";

/**
 * One flag per setting: `--interval-ms` is NVOC_INTERVAL_MS, `--port` is PORT.
 * The flags are made from config.ts's own schema, so every variable has one,
 * including any added later; on/off settings (a boolean default) become
 * switches, defaults are read from the schema, and values are validated by
 * loadConfig. Help text and parsing both read SETTING_FLAGS.
 */

interface SettingHelp {
  /** Placeholder of the value; unused for on/off settings, which the flag alone turns on. */
  value?: string;
  help: string;
  /** What the default means when the schema has none to show. */
  defaultText?: () => string;
}

/** What each setting means, for the help text (keyed by name: a variable without an entry still gets its flag). */
const SETTING_HELP: Record<string, SettingHelp> = {
  NVOC_SOURCE: {
    value: "SOURCE",
    help: "where samples come from: auto (NVML, else nvidia-smi, else simulated), nvml, nvidia-smi, simulated or replay:<csv file>",
  },
  NVOC_INTERVAL_MS: { value: "MS", help: "sampling interval, at least 100" },
  NVOC_SIM_GPUS: { value: "N", help: "number of simulated GPUs (1-64)" },
  NVOC_REPLAY_SPEED: { value: "SPEED", help: "replay pace: 1 as recorded, N times faster, or max" },
  NVOC_REPLAY_LOOP: { help: "replay the file again when it ends" },
  NVOC_DB_PATH: { value: "FILE", help: "database file", defaultText: defaultDbPath },
  NVOC_MAX_DB_MB: { value: "MIB", help: "size cap of the database on disk: file, write-ahead log and unsealed rows" },
  NVOC_RETENTION_DAYS: { value: "DAYS", help: "samples older than this are deleted" },
  NVOC_PRUNE_INTERVAL_S: { value: "S", help: "seconds between retention and size-cap checks" },
  NVOC_NVIDIA_SMI: { value: "PATH", help: "the nvidia-smi command or path" },
  NVOC_NVML_LIBRARY: { value: "LIB", help: "NVML's library: a name the dynamic loader finds, or a path" },
  NVOC_LOG_LEVEL: { value: "LEVEL", help: "trace, debug, info, warn, error, fatal or silent" },
  NVOC_LOG_FORMAT: { value: "FORMAT", help: "auto (short lines on a terminal, JSON otherwise), json or pretty" },
  NVOC_DEV: { help: "Next.js development mode: pages rebuilt as their sources change" },
  NVOC_RECORD_COMMAND_LINES: {
    value: "0|1",
    help: "0 keeps only the executable's name of each GPU process's command line",
    defaultText: () => "1",
  },
  PORT: { value: "PORT", help: "HTTP port (0 picks a free one)" },
  HOST: { value: "HOST", help: "address to bind; any but loopback needs --token" },
  NVOC_TOKEN: { value: "TOKEN", help: "access token (16 characters or more) every request must present" },
  NVOC_ALLOW_UNAUTHENTICATED: { help: "serve a non-loopback --host without a token" },
  NVOC_ALLOWED_ORIGINS: { value: "ORIGINS", help: "comma-separated origins besides the server's own that may prune and open streams" },
  NVOC_ALLOWED_HOSTS: {
    value: "HOSTS",
    help: "comma-separated host names besides localhost and --host that browsers may reach this server under",
  },
  NVOC_PROMETHEUS_URL: { value: "URL", help: "Prometheus-compatible query API the Fleet page reads (user:password@ for basic auth)" },
  NVOC_PROMETHEUS_TOKEN: { value: "TOKEN", help: "bearer token sent to --prometheus-url" },
  NVOC_PUBLIC_URL: {
    value: "URL",
    help: "where people reach this recorder, told to Prometheus in nvoc_info",
    defaultText: () => "the address it listens on",
  },
};

export interface SettingFlag {
  /** Without the leading dashes. */
  flag: string;
  variable: SettingVariable;
  /** On/off: the flag takes no value and sets the variable to 1. */
  isSwitch: boolean;
  /** False when SETTING_HELP has no entry for it yet. */
  described: boolean;
  spec: OptionSpec;
}

const flagOf = (variable: string) =>
  variable
    .replace(/^NVOC_/, "")
    .toLowerCase()
    .replaceAll("_", "-");

function defaultText(described: SettingHelp | undefined, value: unknown): string | null {
  const shown = described?.defaultText?.();
  if (shown !== undefined) return shown;
  if (value === undefined || typeof value === "boolean" || (Array.isArray(value) && value.length === 0)) return null;
  if (Array.isArray(value)) return value.join(",");
  return typeof value === "string" || typeof value === "number" ? String(value) : JSON.stringify(value);
}

export const SETTING_FLAGS: readonly SettingFlag[] = (() => {
  const defaults = envSchema.parse({}) as Record<string, unknown>;
  return (Object.keys(envSchema.shape) as SettingVariable[]).map((variable) => {
    const described = SETTING_HELP[variable];
    // A setting that is on unless turned off takes a value: a switch could only turn it on.
    const isSwitch = defaults[variable] === false;
    const shownDefault = defaultText(described, defaults[variable]);
    return {
      flag: flagOf(variable),
      variable,
      isSwitch,
      described: described !== undefined,
      spec: {
        type: isSwitch ? "boolean" : "string",
        ...(isSwitch ? {} : { value: described?.value ?? "VALUE" }),
        help: `${variable}${described ? `: ${described.help}` : " (see Configuration in README.md)"}${shownDefault !== null ? ` (default ${shownDefault})` : ""}`,
      },
    };
  });
})();

const byVariable = new Map(SETTING_FLAGS.map((s) => [s.variable, s]));

/** The option specs of some settings (all of them by default), for a command's declaration. */
export function settingOptions(variables: readonly SettingVariable[] = SETTING_FLAGS.map((s) => s.variable)): OptionSpecs {
  return Object.fromEntries(
    variables.map((variable) => {
      const setting = byVariable.get(variable)!;
      return [setting.flag, setting.spec];
    }),
  );
}

/** The variables the given flags set (of `variables`, all by default), as the environment would spell them. */
export function variablesFromFlags(
  values: Record<string, string | boolean | undefined>,
  variables: readonly SettingVariable[] = SETTING_FLAGS.map((s) => s.variable),
): Partial<Record<SettingVariable, string>> {
  const given: Partial<Record<SettingVariable, string>> = {};
  for (const setting of SETTING_FLAGS.filter((s) => variables.includes(s.variable))) {
    const value = values[setting.flag];
    if (value === undefined || value === false) continue;
    // An empty variable means "unset" (config.ts); an empty flag is more likely a slip.
    if (typeof value === "string" && value.trim() === "") throw badFlag(`--${setting.flag}`, "needs a value");
    given[setting.variable] = value === true ? "1" : value;
  }
  return given;
}

/**
 * The configuration from the environment with the flags on top, validated by
 * config.ts. `variables` limits which environment variables are read (a command
 * that only needs the database path is not stopped by a bad NVOC_SOURCE); a
 * refusal names the flag when a flag set the value, else the variable.
 */
export function configFromFlags(
  values: Record<string, string | boolean | undefined>,
  variables: readonly SettingVariable[] = SETTING_FLAGS.map((s) => s.variable),
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const fromFlags = variablesFromFlags(values, variables);
  const fromEnv = Object.fromEntries(variables.map((v) => [v, env[v]]));
  try {
    return loadConfig({ ...fromEnv, ...fromFlags });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new UsageError(...error.problems.map((problem) => nameTheFlag(problem, fromFlags, fromEnv)));
  }
}

/** `NVOC_INTERVAL_MS must be at least 100` becomes `--interval-ms: must be at least 100` when the flag set it. */
function nameTheFlag(
  problem: string,
  fromFlags: Partial<Record<SettingVariable, string>>,
  fromEnv: Record<string, string | undefined>,
): string {
  const setting = SETTING_FLAGS.find((s) => new RegExp(`^${s.variable}\\b`).test(problem));
  if (!setting) return problem;
  const rest = problem.slice(setting.variable.length).replace(/^:?\s*/, "");
  if (fromFlags[setting.variable] !== undefined) return `--${setting.flag}: ${rest}`;
  if (fromEnv[setting.variable]) return problem;
  // Neither set it (a setting another one requires): both ways to give it.
  return `--${setting.flag} (${setting.variable}): ${rest}`;
}
