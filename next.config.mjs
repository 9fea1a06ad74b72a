import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(fileURLToPath(import.meta.url));

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // Server code lives in the custom server (src/server); pages only talk to it over HTTP.
  serverExternalPackages: ["better-sqlite3"],
  turbopack: { root },
  outputFileTracingRoot: root,
};

export default nextConfig;
