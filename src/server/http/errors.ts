import http from "node:http";
import type { Duplex } from "node:stream";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { ZodError } from "zod";
import { DatabaseUnavailableError } from "../storage/storage-manager";

/**
 * The REST error body: `{ error: { code, message, fields? } }`, with tRPC's
 * code names so both APIs say the same thing. Bad input names each field in
 * snake_case, as the query string spells it. Nothing internal (stack, cause)
 * is ever sent.
 */

export type FieldErrors = Record<string, string[]>;

export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldErrors };
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldErrors,
  ) {
    super(message);
    this.name = "RestError";
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.fields ? { fields: this.fields } : {}) } };
  }
}

export const camelToSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** 400 naming every field: "gpu_index: must be a whole number; hours: must be at most 2160". */
export function badInput(fields: FieldErrors): RestError {
  const message = Object.entries(fields)
    .map(([field, problems]) => `${field}: ${problems.join(", ")}`)
    .join("; ");
  return new RestError(400, "BAD_REQUEST", message, fields);
}

export function fromZodError(error: ZodError): RestError {
  const fields: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path.map((part) => camelToSnake(String(part))).join(".") || "input";
    (fields[field] ??= []).push(issue.message);
  }
  return badInput(fields);
}

/** Whatever a procedure or the store threw, as the response to send. */
export function toRestError(error: unknown): RestError {
  if (error instanceof RestError) return error;
  if (error instanceof ZodError) return fromZodError(error);
  if (error instanceof DatabaseUnavailableError) return new RestError(503, "SERVICE_UNAVAILABLE", error.message);
  if (error instanceof TRPCError) {
    if (error.cause instanceof ZodError) return fromZodError(error.cause);
    const status = getHTTPStatusCodeFromError(error);
    if (status >= 500 && error.code !== "SERVICE_UNAVAILABLE") return internalError();
    return new RestError(status, error.code, error.message);
  }
  return internalError();
}

const internalError = () => new RestError(500, "INTERNAL_SERVER_ERROR", "internal error; the server log has the details");

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}) {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

export function sendJsonText(res: http.ServerResponse, status: number, text: string | Buffer, headers: http.OutgoingHttpHeaders = {}) {
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    ...headers,
  });
  res.end(text);
}

export function sendError(res: http.ServerResponse, error: RestError, headers: http.OutgoingHttpHeaders = {}) {
  sendJson(res, error.status, error.body(), headers);
}

/** Answers the upgrade request with a plain HTTP error, as a refused handshake should. */
export function refuseUpgrade(socket: Duplex, error: RestError, headers: Record<string, string> = {}) {
  const body = JSON.stringify(error.body());
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${error.status} ${http.STATUS_CODES[error.status]}\r\n` +
      "Content-Type: application/json; charset=utf-8\r\n" +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join("") +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
