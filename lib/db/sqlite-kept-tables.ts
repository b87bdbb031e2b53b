import "server-only";
import fs from "node:fs";
import { sqliteClient, type Db } from "@/lib/db/client";
import { ACCESS_AND_AUDIT_TABLES } from "@/lib/db/sqlite-reset";

const SCHEMA = "kept";

/**
 * What a restore of mimir_data of this same deployment takes from the live database instead of the
 * set: the access and audit tables, and the notification channels, so a channel deleted, disabled or
 * given new credentials since the set was taken does not come back with the old ones. Their delivery
 * log is not carried: the restored backlog is closed unsent instead (closeRestoredBacklog in
 * lib/notify/delivery.ts). Parents before children.
 */
// The offsite destinations and their copy states too: they describe places outside this data root,
// which a restore does not change (and the disaster case restores from one of them).
export const RESTORE_KEPT_TABLES = [...ACCESS_AND_AUDIT_TABLES, "notification_channels", "offsite_destinations", "offsite_copies"] as const;

export interface CarriedTables {
  /** whether the restored database belongs to the same deployment (same system_metadata.instance_id) */
  same_instance: boolean;
  /** the tables whose live rows replaced the restored ones */
  kept: string[];
  /** live audit rows added after the restored set's own (a set from another deployment) */
  audit_rows_appended: number;
}

/**
 * Before a restore swaps the database file: copies the tables a restore keeps (RESTORE_KEPT_TABLES)
 * and the instance id out of the live database into `file`, a SQLite file of its own, so they
 * survive the swap. Writes `file` (replacing one left over); the live database is only read.
 */
export function saveAccessTablesAside(db: Db, file: string): void {
  fs.rmSync(file, { force: true });
  // Created empty first (a valid SQLite file) so it holds password hashes with the owner's access only.
  fs.writeFileSync(file, "", { mode: 0o600 });
  const client = sqliteClient(db);
  client.prepare(`ATTACH DATABASE ? AS ${SCHEMA}`).run(file);
  try {
    for (const table of [...RESTORE_KEPT_TABLES, "system_metadata"]) {
      client.exec(`CREATE TABLE ${SCHEMA}."${table}" AS SELECT * FROM main."${table}"`);
    }
  } finally {
    client.exec(`DETACH DATABASE ${SCHEMA}`);
  }
}

/**
 * After the swap, on the restored (and migrated) database, in one transaction: a set of this same
 * deployment gets the live users, sessions, API tokens, audit log and notification channels back in
 * place of its older copies, so revocations, disabled accounts, expiries, deleted channels and every
 * audit row written since the set was taken hold. A set from another deployment (a migration to a new
 * host) keeps its own accounts, tokens and channels, which is what moving an installation means, and the live audit rows are appended after
 * its own, so the trail still is not cut. Reads `file`; replaces or adds rows in those tables.
 */
export function carryAccessTablesInto(db: Db, file: string): CarriedTables {
  const client = sqliteClient(db);
  client.prepare(`ATTACH DATABASE ? AS ${SCHEMA}`).run(file);
  try {
    return client.transaction((): CarriedTables => {
      const instanceOf = (schema: string) =>
        (client.prepare(`SELECT value FROM ${schema}.system_metadata WHERE key = 'instance_id'`).get() as { value: string } | undefined)?.value ?? null;
      const live = instanceOf(SCHEMA);
      const sameInstance = live !== null && live === instanceOf("main");
      if (!sameInstance) {
        const columns = sharedColumns(client, "audit_log").filter((column) => column !== "id");
        const list = columns.map((column) => `"${column}"`).join(", ");
        const appended = client.prepare(`INSERT INTO main.audit_log (${list}) SELECT ${list} FROM ${SCHEMA}.audit_log ORDER BY id`).run().changes;
        return { same_instance: false, kept: [], audit_rows_appended: appended };
      }
      // Children first when deleting, parents first when inserting: sessions reference users.
      for (const table of [...RESTORE_KEPT_TABLES].reverse()) client.exec(`DELETE FROM main."${table}"`);
      for (const table of RESTORE_KEPT_TABLES) {
        const list = sharedColumns(client, table)
          .map((column) => `"${column}"`)
          .join(", ");
        client.exec(`INSERT INTO main."${table}" (${list}) SELECT ${list} FROM ${SCHEMA}."${table}"`);
      }
      return { same_instance: true, kept: [...RESTORE_KEPT_TABLES], audit_rows_appended: 0 };
    })();
  } finally {
    client.exec(`DETACH DATABASE ${SCHEMA}`);
  }
}

/**
 * Columns both copies have: the restored database was migrated to the live schema, so they normally
 * match; naming them keeps the copy right whatever order the columns were added in.
 */
function sharedColumns(client: Db["$client"], table: string): string[] {
  const names = (schema: string) =>
    (client.prepare(`SELECT name FROM pragma_table_info(?, ?)`).all(table, schema) as { name: string }[]).map((row) => row.name);
  const kept = new Set(names(SCHEMA));
  return names("main").filter((name) => kept.has(name));
}
