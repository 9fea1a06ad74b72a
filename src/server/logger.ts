import pino from "pino";
import pretty from "pino-pretty";

export type Logger = pino.Logger;

export type LogFormat = "auto" | "json" | "pretty";

/**
 * One line per event; the level comes from NVOC_LOG_LEVEL. JSON when the output
 * goes to a file, a pipe or journald (for jq and log shippers); short coloured
 * lines when a person watches a terminal. NVOC_LOG_FORMAT forces either.
 */
export function createLogger(level: string, format: LogFormat = "auto"): Logger {
  const options: pino.LoggerOptions = { name: "nvidia-oc", level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  const readable = format === "pretty" || (format === "auto" && process.stdout.isTTY === true);
  if (!readable) return pino(options);
  // In-process and synchronous: a worker-thread transport would not survive bundling and could lose the last lines on exit.
  return pino(
    options,
    pretty({
      sync: true,
      colorize: useColour(process.env, process.stdout.isTTY === true),
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "name",
    }),
  );
}

/**
 * Colour on a terminal, as the common conventions say: NO_COLOR (any value but
 * empty) turns it off, FORCE_COLOR turns it on even when piped (`FORCE_COLOR=0` off).
 */
export function useColour(env: NodeJS.ProcessEnv, terminal: boolean): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const forced = env.FORCE_COLOR;
  if (forced !== undefined && forced !== "") return forced !== "0" && forced !== "false";
  return terminal;
}
