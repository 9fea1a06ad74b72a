import net from "node:net";

/**
 * One request written byte for byte over a plain socket, so that no client
 * normalises the path, the Host or the escapes on the way: what a hostile
 * client or a browser's rebinding page can send.
 */

export interface RawAnswer {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** All the server sent, as text. */
  text: string;
}

/** A server that never answers holds the socket forever: past this the request counts as unanswered. */
const NO_ANSWER_AFTER_MS = 15_000;

/**
 * Sends `request` (a whole HTTP request: request line, headers, blank line and
 * any body) and resolves with the answer once the server closes the
 * connection (or has accepted a WebSocket handshake). Rejects, naming the
 * request, when no answer comes.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const firstLine = String(request).split("\r\n", 1)[0];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(firstLine)} within ${NO_ANSWER_AFTER_MS} ms`));
    }, NO_ANSWER_AFTER_MS);
    // No half-close: Node's server takes a client's end of input for an aborted request.
    socket.on("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // An accepted handshake keeps the connection for WebSocket frames: its head is the whole answer.
      const text = Buffer.concat(chunks).toString("latin1");
      if (text.startsWith("HTTP/1.1 101 ") && text.includes("\r\n\r\n")) socket.destroy();
    });
    // A reset after the answer is still an answer; one before it is caught below as no status.
    socket.on("error", (error: NodeJS.ErrnoException) =>
      error.code === "ECONNRESET" || error.code === "EPIPE" ? undefined : reject(error),
    );
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3}) /.exec(text)?.[1];
      if (status === undefined)
        return reject(new Error(`no HTTP answer to ${JSON.stringify(firstLine)}: ${JSON.stringify(text.slice(0, 200))}`));
      const [head, ...rest] = text.split("\r\n\r\n");
      const headers: Record<string, string> = {};
      for (const line of head.split("\r\n").slice(1)) {
        const at = line.indexOf(":");
        if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ status: Number(status), headers, body: rest.join("\r\n\r\n"), text });
    });
  });
}

/** A request for `target` with these headers (Host included, or left out on purpose), the connection closed after the answer unless they say otherwise. */
export function rawHttp(
  port: number,
  target: string,
  headers: Record<string, string>,
  options: { method?: string; version?: string; body?: string } = {},
): Promise<RawAnswer> {
  const { method = "GET", version = "1.1", body = "" } = options;
  const all = {
    ...("Connection" in headers ? {} : { Connection: "close" }),
    ...(body ? { "Content-Length": String(Buffer.byteLength(body)) } : {}),
    ...headers,
  };
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`);
  return rawRequest(port, `${method} ${target} HTTP/${version}\r\n${lines.join("")}\r\n${body}`);
}

/** The headers of a WebSocket handshake, to add to a Host (and Origin). */
export const WEBSOCKET_UPGRADE = {
  Upgrade: "websocket",
  Connection: "Upgrade",
  "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
  "Sec-WebSocket-Version": "13",
};
