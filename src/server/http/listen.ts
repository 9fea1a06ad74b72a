import type http from "node:http";

/** The port or address cannot be had: one line naming the setting to change, for the person starting the server. */
export class ListenError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = "ListenError";
  }
}

/** Binds the server, or rejects with a ListenError naming PORT or HOST when the cause is theirs. */
export function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(explained(error, port, host));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve();
    });
  });
}

function explained(error: NodeJS.ErrnoException, port: number, host: string): Error {
  const where = `port ${port} on ${host}`;
  const detail = error.message;
  switch (error.code) {
    case "EADDRINUSE":
      return new ListenError(
        `${where} is in use (PORT / --port): stop what listens there or choose another port, 0 for any free one (${detail})`,
        { cause: error },
      );
    case "EACCES":
      return new ListenError(
        `${where} may not be bound by this user (PORT / --port): ports below 1024 need privileges; choose another (${detail})`,
        { cause: error },
      );
    case "EADDRNOTAVAIL":
      return new ListenError(
        `${host} is not an address of this machine (HOST / --host): bind 127.0.0.1, 0.0.0.0 or one of its own addresses (${detail})`,
        { cause: error },
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new ListenError(`${host} does not resolve to an address (HOST / --host) (${detail})`, { cause: error });
    default:
      return error;
  }
}
