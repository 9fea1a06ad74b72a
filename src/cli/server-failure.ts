import { TRPCClientError } from "@trpc/client";
import { CommandFailure } from "./command";
import type { ServerTarget } from "./server-target";

/**
 * Why talking to the server failed, in words that say what to do: no server
 * there (start one, or name it), a token it wants, or its own answer.
 */

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** The first error code along an error's chain of causes (fetch hides the socket's under `cause`). */
export function networkCode(error: unknown): string | null {
  for (let current = error, depth = 0; current instanceof Object && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/** "fetch failed (bad port)": the message of the error at the end of the chain of causes. */
function deepestMessage(error: Error): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && (current as { cause?: unknown }).cause instanceof Error; depth++)
    current = (current as { cause: Error }).cause;
  return current === error ? error.message : `${error.message} (${(current as Error).message})`;
}

export function unreachable(target: ServerTarget, code: string): CommandFailure {
  const where = target.foundIn ? ` (the address in ${target.foundIn})` : "";
  return new CommandFailure(
    `no nvidia-oc server answers at ${target.url}${where}: ${code}. ` +
      `Start one with 'nvidia-oc start' (or 'npm start'), or name a running one with --url.`,
  );
}

export function refusedToken(target: ServerTarget, serverMessage: string): CommandFailure {
  return new CommandFailure(
    target.token
      ? `the server at ${target.url} refused the token: ${serverMessage}`
      : `the server at ${target.url} needs its token: pass --token or set NVOC_TOKEN`,
  );
}

/** Whether the error, or one of its causes, is a timeout's abort. */
export function timedOut(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Object && depth < 5; depth++) {
    if ((current as { name?: unknown }).name === "TimeoutError") return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function noAnswer(target: ServerTarget): CommandFailure {
  return new CommandFailure(
    `the server at ${target.url} did not answer within ${target.timeoutMs / 1000} s: it may be stuck (its log says why); --timeout gives it longer`,
  );
}

/** A CommandFailure for an error thrown by the tRPC client. */
export function describeFailure(error: unknown, target: ServerTarget): CommandFailure {
  if (timedOut(error)) return noAnswer(target);
  const code = networkCode(error);
  if (code) return unreachable(target, code);
  if (error instanceof TRPCClientError) {
    const status = (error.data as { httpStatus?: unknown } | undefined)?.httpStatus;
    if (status === 401) return refusedToken(target, error.message);
    if (status === undefined && /fetch failed/i.test(error.message)) return unreachable(target, deepestMessage(error));
    return new CommandFailure(`the server at ${target.url} answered: ${error.message}`);
  }
  return new CommandFailure(`talking to ${target.url} failed: ${error instanceof Error ? error.message : String(error)}`);
}

/** Runs a call to the server, turning whatever goes wrong into a CommandFailure. */
export async function askServer<T>(target: ServerTarget, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw describeFailure(error, target);
  }
}
