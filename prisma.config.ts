import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

// The `js` engine runs Prisma's query and schema engines on WebAssembly through
// better-sqlite3, so nothing native is ever downloaded (see scripts/prisma.mjs).
export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  adapter() {
    return Promise.resolve(new PrismaBetterSQLite3({ url: process.env.DATABASE_URL ?? "file:./dev.db" }));
  },
});
