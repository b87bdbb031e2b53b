"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { migrateToPostgresInput, queryInput, resetInput, retentionCleanupForm, swapRecoveredInput } from "@/lib/maintenance/inputs";
import { startReset } from "@/lib/maintenance/reset";
import { startMigrateToPostgres } from "@/lib/maintenance/migrate-backend";
import { runReadOnlyQuery } from "@/lib/maintenance/query";
import { runRetentionCleanup, startRetentionCleanup } from "@/lib/maintenance/retention";
import { startMaintenance, swapInRecoveredDatabase } from "@/lib/maintenance/service";

export const startMaintenanceAction = defineAction(
  "write",
  z.object({ kind: z.enum(["vacuum", "analyze", "integrity_check", "checkpoint"]), quick: z.boolean().optional() }),
  async (input, principal) => startMaintenance(input.kind, principal, input.kind === "integrity_check" ? { quick: input.quick ?? false } : {}),
  { audit: "database.maintenance", target: (input) => input.kind },
);

export const retentionDryRunAction = defineAction("write", retentionCleanupForm, async (input) => runRetentionCleanup({ ...input, dry_run: true }), {
  audit: "retention.dry_run",
  readOnly: true,
});

export const startRetentionCleanupAction = defineAction(
  "write",
  retentionCleanupForm,
  async (input, principal) => startRetentionCleanup({ ...input, dry_run: false }, principal),
  {
    audit: "retention.cleanup",
    target: (input) => input.job_id ?? null,
  },
);

// The query service records each query itself (database.query, with the statement).
export const runQueryAction = defineAction("admin", queryInput, async (input, principal) => runReadOnlyQuery(input, principal), {
  audit: "database.query",
  readOnly: true,
});

export const startRecoverAction = defineAction("admin", z.object({}), async (_input, principal) => startMaintenance("recover", principal), {
  audit: "database.recover",
});

// Swapping replaces the live database: the signed-in user gives their password again.
export const swapRecoveredAction = defineAction(
  "admin",
  swapRecoveredInput,
  async (input, principal) => {
    const result = await swapInRecoveredDatabase(input, principal);
    revalidatePath("/database");
    return result;
  },
  { reauth: true, audit: "database.swap_recovered" },
);

/** Destructive: the password again (reauth) and the typed instance name in `confirm`. */
export const resetAllDataAction = defineAction("admin", resetInput, async (input, principal) => startReset(input, principal), {
  reauth: true,
  audit: "data.reset",
});

/** The copy to PostgreSQL: the password again (reauth); the connection string is a secret and is not audited. */
export const migrateToPostgresAction = defineAction("admin", migrateToPostgresInput, async (input, principal) => startMigrateToPostgres(input, principal), {
  reauth: true,
  audit: "data.migrate_to_postgres",
});
