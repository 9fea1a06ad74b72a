import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Gauge, type Registry } from "prom-client";
import { PROJECT_ROOT } from "../project-root";

/**
 * `nvoc_info{url, version, hostname} 1`: where this recorder's own dashboard is,
 * so a Fleet page reading Prometheus can link each host to it.
 */

const version = () => (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;

/** The URL of a server bound to `host`: a wildcard address is reached by the machine's name. */
export function reachableUrl(host: string, port: number): string {
  const name = host === "0.0.0.0" || host === "::" || host === "[::]" ? os.hostname() : host;
  return `http://${name.includes(":") && !name.startsWith("[") ? `[${name}]` : name}:${port}`;
}

export function registerInfoMetric(registry: Registry, url: string): void {
  const info = new Gauge({
    name: "nvoc_info",
    help: "Always 1: this recorder's dashboard URL (NVOC_PUBLIC_URL, else the address it listens on), version and host name.",
    labelNames: ["url", "version", "hostname"],
    registers: [registry],
  });
  info.set({ url, version: version(), hostname: os.hostname() }, 1);
}
