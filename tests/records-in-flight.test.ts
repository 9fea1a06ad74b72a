import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordsInFlight } from "../src/server/records-in-flight";
import { waitFor } from "./helpers/server-process";

/** A real HTTP server whose requests ask the gate for `?records=N` and stay open until the test ends them. */
const gate = new RecordsInFlight(10);
const admitted: string[] = [];
const open = new Map<string, http.ServerResponse>();
async function admitOrRefuse(req: http.IncomingMessage, res: http.ServerResponse) {
  const url = new URL(req.url ?? "/", "http://local");
  const name = url.searchParams.get("name")!;
  if (!(await gate.admit(Number(url.searchParams.get("records")), res))) return;
  admitted.push(name);
  open.set(name, res);
  res.writeHead(200).write("admitted\n");
}
const server = http.createServer((req, res) => void admitOrRefuse(req, res));
let base = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open.values()) res.end();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends a request that asks for `records`; resolves with a way to leave before the answer. */
function ask(name: string, records: number) {
  const req = http.get(`${base}/?name=${name}&records=${records}`);
  req.on("error", () => {});
  return { leave: () => req.destroy() };
}

const finish = (name: string) => open.get(name)!.end("done\n");
const admittedNow = (...names: string[]) =>
  waitFor(() => (names.every((n) => admitted.includes(n)) ? true : undefined), 5000, `${names.join(", ")} admitted`);

describe("records in flight", () => {
  it("admits in order of arrival while the records fit, and a client that leaves while waiting gives its turn back", async () => {
    ask("a", 6);
    await admittedNow("a");
    const b = ask("b", 6);
    // Asked after b: waits behind it, though its 4 records would fit beside a's 6.
    ask("c", 4);
    await waitFor(() => (gate.waitingCount === 2 ? true : undefined), 5000, "b and c waiting");
    expect(admitted).toEqual(["a"]);
    // b leaves while waiting: c goes in beside a.
    b.leave();
    await admittedNow("c");
    expect(admitted).toEqual(["a", "c"]);

    // All records come back once the answers are done: a request for the whole limit goes in.
    ask("d", 10);
    finish("a");
    finish("c");
    await admittedNow("d");
    expect(admitted).toEqual(["a", "c", "d"]);
  });
});
