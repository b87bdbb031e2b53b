import "server-only";
import { appDatabaseLocation } from "@/lib/db/client";
import { sqliteEngine } from "@/lib/db/engine/sqlite";
import { postgresEngine } from "@/lib/db/engine/postgres";
import type { DatabaseEngine } from "@/lib/db/engine/types";

/** The engine of the open database (throws when none is open, as getDb does). */
export function getEngine(): DatabaseEngine {
  return appDatabaseLocation().backend === "postgres" ? postgresEngine : sqliteEngine;
}
