import os from "node:os";
import { isLoopbackHost } from "../../../telemetry/loopback-host";

/**
 * The host names this server answers to. A page on another site can make a
 * browser address this server under the site's own name (DNS rebinding: the
 * name first resolves to the site, then to 127.0.0.1); the browser then treats
 * the answers as that site's own, Origin check included. The Host header still
 * carries the site's name, so only names the server is really reached under
 * are served: the loopback names, the address it is bound to, the names of
 * NVOC_ALLOWED_HOSTS and of NVOC_ALLOWED_ORIGINS, and, when bound to every
 * interface, this machine's addresses and its host name.
 */

/** HOST values that bind every interface of the machine. */
const ALL_INTERFACES = new Set(["0.0.0.0", "::"]);

/** A machine's addresses change (DHCP, VPNs): a name not yet known is looked up again at most this often. */
const MACHINE_NAMES_REREAD_MS = 10_000;

export interface HostAllowList {
  /** Whether a request with this Host header (a name with an optional port) is served; one without a Host is not a browser's. */
  admits(hostHeader: string | undefined): boolean;
  /** Whether a host name (IPv6 with or without brackets, no port) is one of this server's. */
  allows(name: string): boolean;
}

/** `[::1]` and `::1` are the same name; DNS names are case-insensitive. */
const normalized = (name: string) => name.toLowerCase().replace(/^\[(.*)\]$/, "$1");

/** The name of a Host header value without its port, or null when it is not a host[:port] at all. */
export function hostNameOf(hostHeader: string): string | null {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]/@\\]+))(?::\d{1,5})?$/i.exec(hostHeader);
  if (!match) return null;
  return normalized(match[1] ?? match[2]);
}

function machineNames(): Set<string> {
  const addresses = Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => normalized(entry.address)));
  return new Set([...addresses, normalized(os.hostname())]);
}

export function createHostAllowList(options: {
  host: string;
  allowedHosts: readonly string[];
  allowedOrigins: readonly string[];
}): HostAllowList {
  const bound = normalized(options.host);
  const named = new Set([
    bound,
    ...options.allowedHosts.map(normalized),
    ...options.allowedOrigins.map((origin) => normalized(new URL(origin).hostname)),
  ]);
  const everyInterface = ALL_INTERFACES.has(bound);
  let machine = everyInterface ? machineNames() : new Set<string>();
  let machineReadAt = Date.now();

  const onThisMachine = (name: string) => {
    if (!everyInterface) return false;
    if (machine.has(name)) return true;
    if (Date.now() - machineReadAt < MACHINE_NAMES_REREAD_MS) return false;
    machine = machineNames();
    machineReadAt = Date.now();
    return machine.has(name);
  };

  const allows = (name: string) => {
    const wanted = normalized(name);
    return isLoopbackHost(wanted) || named.has(wanted) || onThisMachine(wanted);
  };

  return {
    allows,
    admits(hostHeader) {
      if (hostHeader === undefined) return true;
      const name = hostNameOf(hostHeader);
      return name !== null && allows(name);
    },
  };
}
