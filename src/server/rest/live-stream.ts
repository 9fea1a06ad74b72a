import type http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { Snapshot } from "../collector/collector";
import type { Logger } from "../logger";
import { liveReadingFilter } from "../routers/gpu-selection";
import { streamInput } from "../api/inputs";
import type { Services } from "../trpc/context";
import { refuseUpgrade, toRestError } from "../http/errors";
import { queryOf, STREAM_QUERY } from "../http/paths";
import { readParams } from "./query";
import { iso, sampleRecord } from "./records";

/**
 * `ws://HOST:PORT/api/telemetry/stream?interval=1.0[&gpu_uuid=U|&gpu_index=N]`: the newest
 * collected snapshot, pushed every `interval` seconds to plain WebSocket
 * clients (wscat, browsers, any language). Needs no database. Clients have
 * nothing to say: what they send is ignored, and large frames close the socket.
 */

type Keep = ReturnType<typeof liveReadingFilter>;

/** A client that stopped reading misses snapshots rather than piling them up in this process. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface LiveStream {
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Drops every client at once: shutdown must not wait for them. */
  close(): Promise<void>;
}

export function createLiveStream(services: Services, log: Logger): LiveStream {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 });

  const message = (snapshot: Snapshot, keep: Keep) => {
    const names = new Map(services.collector.gpus().map((g) => [g.uuid, g.name]));
    const samples = keep === null ? snapshot.samples : snapshot.samples.filter(keep);
    return JSON.stringify({
      timestamp: iso(Date.now()),
      gpus: samples.map((s) => sampleRecord({ ...s, gpuIndex: s.index, gpuUuid: s.uuid, gpuName: names.get(s.uuid) ?? `GPU ${s.index}` })),
    });
  };

  const serve = (ws: WebSocket, intervalS: number, keep: Keep) => {
    const push = () => {
      const snapshot = services.collector.latest();
      if (!snapshot || ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > MAX_BUFFERED_BYTES) return;
      ws.send(message(snapshot, keep));
    };
    const timer = setInterval(push, intervalS * 1000);
    ws.on("close", () => clearInterval(timer));
    ws.on("error", (error) => log.debug({ err: error.message }, "stream client dropped"));
    push();
  };

  return {
    upgrade(req, socket, head) {
      let interval: number;
      let keep: Keep;
      try {
        const input = streamInput.parse(readParams(queryOf(req.url), STREAM_QUERY));
        interval = input.interval;
        keep = liveReadingFilter(services, input);
      } catch (error) {
        refuseUpgrade(socket, toRestError(error));
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, interval, keep));
    },
    close() {
      for (const ws of wss.clients) ws.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
