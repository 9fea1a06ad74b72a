import type http from "node:http";
import { getTRPCErrorFromUnknown, getTRPCErrorShape, transformTRPCResponse, type AnyTRPCProcedure, type TRPCError } from "@trpc/server";
import { getHTTPStatusCode, type TRPCRequestInfo } from "@trpc/server/http";
import type { TRPCResponse } from "@trpc/server/rpc";
import { jsonPieces } from "../http/json-pieces";
import type { AppRouter } from "../routers/_app";
import type { Context } from "./context";

/**
 * Answers tRPC queries asked over GET (what every link of the dashboard and the typed client sends
 * for a query) the way tRPC's own adapter does, status, headers and JSON alike, but writes the JSON
 * in pieces (json-pieces.ts) instead of through one string and a fetch Response: for the History
 * page's answers of a few hundred KB that path cost more than the answer's own work.
 *
 * It takes only requests it can answer without a word of tRPC's own refusals: anything else (a
 * body, a stream or subscription, an unknown procedure, a batch over the limit, input that does
 * not parse) is left to tRPC's adapter, which reads the request afresh, as nothing has been
 * done with it yet.
 */

export interface QueryAnswerOptions {
  router: AppRouter;
  /** The path the procedures' names follow, as tRPC's adapter is given it ("/api/trpc/"). */
  basePath: string;
  maxBatchSize: number;
  createContext(opts: { req: http.IncomingMessage; res: http.ServerResponse; info: TRPCRequestInfo }): Promise<Context>;
  onError(opts: { error: TRPCError; path: string | undefined; req: http.IncomingMessage }): void;
}

type CallResult = [TRPCError, undefined] | [undefined, { data: unknown }];

/** A handler that answers the request (a promise that settles when it has) or returns null to leave it to tRPC's adapter. */
export function createQueryAnswers(options: QueryAnswerOptions) {
  const { router, basePath, maxBatchSize } = options;
  const config = router._def._config;
  // tRPC keeps the procedures by their dotted paths (its types describe them nested).
  const procedures = router._def.procedures as unknown as Record<string, AnyTRPCProcedure | undefined>;

  /** The calls of a request this handler takes, or null. */
  function callsOf(req: http.IncomingMessage): { url: URL; isBatchCall: boolean; paths: string[]; inputs: unknown[] } | null {
    if (req.method !== "GET" || req.headers["trpc-accept"] !== undefined || asksForStream(req.headers.accept)) return null;
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
      path = decodeURIComponent(url.pathname.slice(basePath.length));
    } catch {
      return null;
    }
    const { searchParams } = url;
    if (searchParams.has("connectionParams")) return null;
    const isBatchCall = searchParams.get("batch") === "1";
    const paths = isBatchCall ? path.split(",") : [path];
    if (paths.length > maxBatchSize || !paths.every((name) => Object.hasOwn(procedures, name) && procedures[name]?._def.type === "query"))
      return null;
    const inputs = inputsOf(searchParams.get("input"), isBatchCall, paths.length);
    return inputs && { url, isBatchCall, paths, inputs };
  }

  /** Each call's input as the transformer reads it back, or null where tRPC would refuse them. */
  function inputsOf(text: string | null, isBatchCall: boolean, calls: number): unknown[] | null {
    try {
      // tRPC reads an empty or missing parameter as no input for every call.
      const written: unknown = text ? JSON.parse(text) : undefined;
      if (written === undefined) return Array.from({ length: calls }, () => undefined);
      const read = (value: unknown) => config.transformer.input.deserialize(value) as unknown;
      if (!isBatchCall) return [read(written)];
      if (typeof written !== "object" || written === null || Array.isArray(written)) return null;
      const byIndex = written as Record<string, unknown>;
      return Array.from({ length: calls }, (_, i) => (byIndex[i] === undefined ? undefined : read(byIndex[i])));
    } catch {
      return null;
    }
  }

  async function answer(req: http.IncomingMessage, res: http.ServerResponse, asked: NonNullable<ReturnType<typeof callsOf>>) {
    const { url, isBatchCall, paths, inputs } = asked;
    const signal = abortedWhenGone(req, res);
    const info: TRPCRequestInfo = {
      accept: null,
      type: "query",
      isBatchCall,
      calls: paths.map((path, batchIndex) => ({
        path,
        batchIndex,
        procedure: procedures[path]!,
        getRawInput: () => Promise.resolve(inputs[batchIndex]),
        result: () => inputs[batchIndex],
      })),
      connectionParams: null,
      signal,
      url,
    };
    // As in tRPC's adapter, a context that cannot be made fails each call with its error.
    const made = await options.createContext({ req, res, info }).then(
      (ctx) => ({ ctx }),
      (cause: unknown) => ({ ctx: undefined, error: getTRPCErrorFromUnknown(cause) }),
    );
    const results = await Promise.all(
      paths.map(async (path, batchIndex): Promise<CallResult> => {
        try {
          if ("error" in made) throw made.error;
          const getRawInput = info.calls[batchIndex].getRawInput;
          return [undefined, { data: await procedures[path]!({ path, ctx: made.ctx, type: "query", signal, batchIndex, getRawInput }) }];
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          options.onError({ error, path, req });
          return [error, undefined];
        }
      }),
    );
    const untransformed: TRPCResponse[] = results.map(([error, result], index) =>
      error
        ? { error: getTRPCErrorShape({ config, ctx: made.ctx, error, input: inputs[index], path: paths[index], type: "query" }) }
        : { result: { data: result.data } },
    );
    const pieces = jsonPieces(transformTRPCResponse(config, isBatchCall ? untransformed : untransformed[0]));
    res.statusCode = getHTTPStatusCode(untransformed);
    res.setHeader("vary", "trpc-accept, accept");
    res.setHeader("content-type", "application/json");
    res.setHeader(
      "content-length",
      pieces.reduce((sum, piece) => sum + piece.length, 0),
    );
    if (res.destroyed) return;
    // Written in one turn, the pieces leave together (the socket gathers writes made while one is under way).
    for (const piece of pieces.slice(0, -1)) res.write(piece);
    res.end(pieces.at(-1));
  }

  return (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> | null => {
    const asked = callsOf(req);
    return asked && answer(req, res, asked);
  };
}

/** tRPC streams the answer of a client that accepts JSON lines (httpBatchStreamLink). */
const asksForStream = (accept: string | undefined) => accept?.split(",").some((type) => type.trim() === "application/jsonl") ?? false;

/** Aborted when the client goes away before the answer is written, as tRPC's adapter signals it. */
function abortedWhenGone(req: http.IncomingMessage, res: http.ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableEnded) controller.abort();
  };
  res.once("close", onClose);
  req.once("aborted", () => controller.abort());
  return controller.signal;
}
