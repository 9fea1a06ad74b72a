import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaClient } from "../../generated/prisma/client";

/**
 * The one Prisma client of the process, for ordinary queries (GPU facts, prune
 * history, counts). The sample hot paths use raw SQL in telemetry-store.ts.
 */
export function createPrismaClient(dbPath: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaBetterSQLite3({ url: `file:${dbPath}` }) });
}

export type { PrismaClient };
