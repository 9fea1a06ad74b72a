import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type http from "node:http";

/** The cookie the sign-in page sets; it holds a value derived from the token, never the token. */
export const SESSION_COOKIE = "nvoc_session";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Compares two secrets in constant time. Hashing first makes the comparison
 * independent of their lengths too, which timingSafeEqual alone would leak.
 */
export const sameSecret = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

/** What the cookie carries for a token: changing NVOC_TOKEN signs every browser out. */
export const sessionValue = (token: string) => createHmac("sha256", token).update("nvidia-oc session").digest("base64url");

export interface Presented {
  /** From `Authorization: Bearer <token>`. */
  bearer: string | null;
  /** From the sign-in cookie. */
  session: string | null;
}

export function presentedCredentials(req: http.IncomingMessage): Presented {
  const authorization = req.headers.authorization ?? "";
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? null;
  return { bearer, session: cookieValue(req.headers.cookie, SESSION_COOKIE) };
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return null;
}

export function sessionCookie(token: string, secure: boolean): string {
  const attributes = ["HttpOnly", "SameSite=Strict", "Path=/", `Max-Age=${30 * 86_400}`, ...(secure ? ["Secure"] : [])];
  return [`${SESSION_COOKIE}=${sessionValue(token)}`, ...attributes].join("; ");
}

export const clearedSessionCookie = () => `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
