import os from "node:os";
import { badFlag, type OptionSpecs, type OptionValues } from "./command";
import { readLockHolder } from "./server-lock";
import { configFromFlags, settingOptions } from "./settings-flags";

/**
 * Which running server a command talks to, and with what token. Without --url
 * it is the server recording into the database (named in the database's lock
 * file), else the default address `npm start` listens on.
 */

export const DEFAULT_URL = "http://127.0.0.1:8000";

/** Long enough for a forced prune of a full database; a server silent longer than this is stuck. */
const DEFAULT_TIMEOUT_S = 30;

export const SERVER_OPTIONS = {
  url: {
    type: "string",
    value: "URL",
    help: `the server to ask (default: the one recording into --db-path, from its lock file, else ${DEFAULT_URL})`,
  },
  ...settingOptions(["NVOC_DB_PATH"]),
  token: { type: "string", value: "TOKEN", help: "access token of a server started with one (default: NVOC_TOKEN)" },
  timeout: {
    type: "string",
    value: "SECONDS",
    help: `give up when the server has not answered within this many seconds (default ${DEFAULT_TIMEOUT_S})`,
  },
} as const satisfies OptionSpecs;

export interface ServerTarget {
  /** Without a trailing slash. */
  url: string;
  token: string | null;
  /** The lock file the address was read from; null when given or defaulted. */
  foundIn: string | null;
  /** How long to wait for an answer (for an export: for it to start). */
  timeoutMs: number;
}

export function serverTarget(values: OptionValues<typeof SERVER_OPTIONS>, env: NodeJS.ProcessEnv = process.env): ServerTarget {
  const token = values.token ?? (env.NVOC_TOKEN?.trim() || null);
  if (token !== null && token.trim() === "") throw badFlag("--token", "needs a value");
  const timeoutMs = checkedTimeout(values.timeout) * 1000;
  if (values.url !== undefined) return { url: checkedUrl(values.url), token, foundIn: null, timeoutMs };
  const { dbPath } = configFromFlags(values, ["NVOC_DB_PATH"], env);
  const holder = readLockHolder(dbPath);
  // The lock names the holder's own view of its address; only a live holder here can be reached by it.
  if (holder?.running && holder.url && holder.hostname === os.hostname())
    return { url: holder.url, token, foundIn: holder.lockPath, timeoutMs };
  return { url: DEFAULT_URL, token, foundIn: null, timeoutMs };
}

function checkedTimeout(text: string | undefined): number {
  if (text === undefined) return DEFAULT_TIMEOUT_S;
  const seconds = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!(seconds > 0 && seconds <= 86_400))
    throw badFlag("--timeout", `must be a number of seconds above 0 and at most 86400, not "${text}"`);
  return seconds;
}

function checkedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badFlag("--url", `not an address: "${text}" (for example http://127.0.0.1:8000)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw badFlag("--url", `must be an http:// or https:// address, not ${url.protocol}`);
  return url.href.replace(/\/+$/, "");
}

/** The Authorization header a server started with a token needs. */
export const authorization = (target: ServerTarget): Record<string, string> =>
  target.token ? { authorization: `Bearer ${target.token}` } : {};
