import "server-only";
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import type { Db } from "@/lib/db/client";
import { ISO_TIMESTAMP_GLOB, MIMIR_TIMESTAMP_COLUMNS, normaliseTimestamp, nowIso } from "@/lib/db/timestamps";

/** Where drizzle-kit writes migrations; next build traces it into the standalone output too. */
export function migrationsFolder(): string {
  return path.join(process.cwd(), "drizzle");
}

export interface MigrationReport {
  /** true when this boot took over a database made by Mimir AIP's own server */
  adopted: boolean;
  /** the snapshot taken before adopting, so nothing can be lost by it */
  preAdoptionSnapshot: string | null;
  normalisedTimestamps: number;
  appliedMigrations: number;
  schemaVersion: string;
}

/**
 * Brings a database to the current schema. A database made by Mimir AIP (its tables, no migration
 * journal) is adopted in place: a snapshot is taken beside it first, the first migration's
 * `IF NOT EXISTS` statements leave Mimir's tables and rows as they are, and Go-style timestamps are
 * rewritten to ISO-8601. Writes the schema version and instance id into system_metadata.
 */
export function migrateDatabase(db: Db, file: string, folder = migrationsFolder()): MigrationReport {
  const client = db.$client;
  const tableExists = (name: string) => client.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;

  const adopting = tableExists("scheduled_jobs") && !tableExists("__drizzle_migrations");
  let preAdoptionSnapshot: string | null = null;
  if (adopting && file !== ":memory:") {
    preAdoptionSnapshot = `${file}.pre-adoption-${nowIso().replace(/[:.]/g, "-")}`;
    client.prepare("VACUUM INTO ?").run(preAdoptionSnapshot);
    fs.chmodSync(preAdoptionSnapshot, 0o600);
  }

  const before = tableExists("__drizzle_migrations") ? countMigrations(db) : 0;
  migrate(db, { migrationsFolder: folder });
  const after = countMigrations(db);

  const normalisedTimestamps = adopting ? normaliseMimirTimestamps(db) : 0;
  const schemaVersion = String(after);
  const upsert = client.prepare(
    "INSERT INTO system_metadata (key, value, updated_at) VALUES (?, ?, ?) " +
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
  );
  const insertOnce = client.prepare("INSERT INTO system_metadata (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO NOTHING");
  const now = nowIso();
  client.transaction(() => {
    upsert.run("schema_version", schemaVersion, now);
    insertOnce.run("instance_id", crypto.randomUUID(), now);
    insertOnce.run("created_at", now, now);
    if (adopting) upsert.run("adopted_from", `mimir-aip at ${now}`, now);
  })();

  return { adopted: adopting, preAdoptionSnapshot, normalisedTimestamps, appliedMigrations: after - before, schemaVersion };
}

function countMigrations(db: Db): number {
  return (db.$client.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
}

/** Rewrites every non-ISO timestamp in Mimir's tables in one transaction; returns how many values changed. */
function normaliseMimirTimestamps(db: Db): number {
  const client = db.$client;
  client.function("mimir_iso", { deterministic: true }, (value: unknown) => normaliseTimestamp(value) ?? value);
  let changed = 0;
  client.transaction(() => {
    for (const [table, columns] of Object.entries(MIMIR_TIMESTAMP_COLUMNS)) {
      for (const column of columns) {
        changed += client
          .prepare(
            `UPDATE "${table}" SET "${column}" = mimir_iso("${column}") ` + `WHERE "${column}" IS NOT NULL AND NOT ("${column}" GLOB '${ISO_TIMESTAMP_GLOB}')`,
          )
          .run().changes;
      }
    }
  })();
  return changed;
}
