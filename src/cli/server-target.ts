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

export const SERVER_OPTIONS = {
  url: { type: "string", value: "URL", help: `the server to ask (default: the one recording into --db-path, from its lock file, else ${DEFAULT_URL})` },
  ...settingOptions(["NVOC_DB_PATH"]),
  token: { type: "string", value: "TOKEN", help: "access token of a server started with one (default: NVOC_TOKEN)" },
} as const satisfies OptionSpecs;

export interface ServerTarget {
  /** Without a trailing slash. */
  url: string;
  token: string | null;
  /** The lock file the address was read from; null when given or defaulted. */
  foundIn: string | null;
}

export function serverTarget(values: OptionValues<typeof SERVER_OPTIONS>, env: NodeJS.ProcessEnv = process.env): ServerTarget {
  const token = values.token ?? (env.NVOC_TOKEN?.trim() || null);
  if (token !== null && token.trim() === "") throw badFlag("--token", "needs a value");
  if (values.url !== undefined) return { url: checkedUrl(values.url), token, foundIn: null };
  const { dbPath } = configFromFlags(values, ["NVOC_DB_PATH"], env);
  const holder = readLockHolder(dbPath);
  // The lock names the holder's own view of its address; only a live holder here can be reached by it.
  if (holder?.running && holder.url && holder.hostname === os.hostname()) return { url: holder.url, token, foundIn: holder.lockPath };
  return { url: DEFAULT_URL, token, foundIn: null };
}

function checkedUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw badFlag("--url", `not an address: "${text}" (for example http://127.0.0.1:8000)`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badFlag("--url", `must be an http:// or https:// address, not ${url.protocol}`);
  return url.href.replace(/\/+$/, "");
}

/** The Authorization header a server started with a token needs. */
export const authorization = (target: ServerTarget): Record<string, string> => (target.token ? { authorization: `Bearer ${target.token}` } : {});
