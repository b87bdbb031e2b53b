import "server-only";
import pg from "pg";
import { getDb, isAppDatabaseOpen } from "@/lib/db/client";

/**
 * The process-wide PostgreSQL pool when the app runs on PostgreSQL, else null (SQLite, or nothing
 * open). The backup, restore and Database page code branch on it: on PostgreSQL the drizzle database
 * of lib/db/client.ts carries its node-postgres Pool as `$client`, on SQLite a better-sqlite3 handle.
 */
export function appPostgresPool(): pg.Pool | null {
  if (!isAppDatabaseOpen()) return null;
  const client: unknown = (getDb() as { $client: unknown }).$client;
  return client instanceof pg.Pool ? client : null;
}
