import pino from "pino";

export type Logger = pino.Logger;

/** One JSON line per event; the level comes from NVOC_LOG_LEVEL. */
export function createLogger(level: string): Logger {
  return pino({ name: "nvidia-oc", level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}
