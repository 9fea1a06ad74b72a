#!/usr/bin/env node
// Writes prisma/migrations/<timestamp>_<name>/migration.sql from the difference
// between the committed migrations and prisma/schema.prisma. (`prisma migrate dev`
// needs a native engine; `migrate diff` runs on the offline js engine.)
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:migration -- <name>   (lower-case letters, digits, _)");
  process.exit(2);
}
const migrationsDir = path.join(root, "prisma", "migrations");
const hasMigrations = fs.existsSync(migrationsDir) && fs.readdirSync(migrationsDir).some((d) => /^\d/.test(d));
// With a driver adapter Prisma accepts neither a shadow database nor a URL to
// diff from, so the committed migrations are applied to a scratch file, that
// file is introspected into a schema, and the two schemas are diffed.
const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), "nvoc-migrations-"));
const scratch = path.join(scratchDir, "scratch.db");
const prisma = (args, env = {}) =>
  spawnSync(process.execPath, [path.join(root, "scripts", "prisma.mjs"), ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env },
  });
let from = ["--from-empty"];
if (hasMigrations) {
  const { default: Database } = await import("better-sqlite3");
  const db = new Database(scratch);
  for (const dir of fs
    .readdirSync(migrationsDir)
    .filter((d) => /^\d/.test(d))
    .sort()) {
    db.exec(fs.readFileSync(path.join(migrationsDir, dir, "migration.sql"), "utf8"));
  }
  db.close();
  const pulled = prisma(["db", "pull", "--print"], { DATABASE_URL: `file:${scratch}` });
  if (pulled.status !== 0) process.exit(pulled.status ?? 1);
  const current = path.join(scratchDir, "current.prisma");
  // db pull prints a warning about the datasource url before the schema itself.
  const schemaStart = pulled.stdout.search(/^(generator|datasource) /m);
  fs.writeFileSync(current, pulled.stdout.slice(Math.max(0, schemaStart)));
  from = ["--from-schema-datamodel", current];
}
const result = prisma(["migrate", "diff", ...from, "--to-schema-datamodel", path.join(root, "prisma", "schema.prisma"), "--script"]);
if (result.status !== 0) process.exit(result.status ?? 1);
if (/^-- This is an empty migration/m.test(result.stdout)) {
  console.log("schema and migrations already agree: nothing written");
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const dir = path.join(migrationsDir, `${stamp}_${name}`);
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, "migration.sql"), result.stdout);
if (!fs.existsSync(path.join(migrationsDir, "migration_lock.toml"))) {
  fs.writeFileSync(path.join(migrationsDir, "migration_lock.toml"), 'provider = "sqlite"\n');
}
console.log(`wrote ${path.relative(root, dir)}/migration.sql`);
