/**
 * Where to send a browser after signing in: only a path of this server, never
 * an open redirect to another site. Browsers drop tabs and line breaks from a
 * Location and read a backslash as a slash, so `/\t/evil.example` or
 * `/\evil.example` would leave for evil.example: anything holding those, or
 * resolving to another origin, becomes `/`.
 */

export const SIGN_IN_PATH = "/signin";

const HOME = "/";
const BASE = new URL("http://this-server.invalid");
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f\\]/;

/** Either path of this server (another host, scheme or the sign-in page itself is refused), ready for a Location header. */
export function safeNext(next: string | null | undefined): string {
  if (next === null || next === undefined || CONTROL_OR_BACKSLASH.test(next)) return HOME;
  if (!next.startsWith("/") || next.startsWith("//")) return HOME;
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return HOME;
  }
  if (url.origin !== BASE.origin) return HOME;
  // Resolved and percent-encoded: dot segments may have made "//" of "/.//", and a header takes no raw UTF-8.
  const path = `${url.pathname}${url.search}${url.hash}`;
  if (path.startsWith("//") || path.startsWith(SIGN_IN_PATH)) return HOME;
  return path;
}
