import { z } from "zod";
import { VOLUMES } from "@/lib/config/volumes";

/** Longest SQL accepted by the console: one statement, not a script. */
export const MAX_QUERY_CHARS = 10_000;

export const integrityCheckInput = z.object({ quick: z.boolean().default(false) }).strict();
export type IntegrityCheckInput = z.infer<typeof integrityCheckInput>;

export const retentionCleanupInput = z
  .object({
    dry_run: z.boolean().default(false).describe("count what would be deleted, delete nothing"),
    retention_days: z.number().int().min(0).max(36_500).optional().describe("overrides persistence.retention_days for this run; 0 = no age bound"),
    keep_per_job: z.number().int().min(1).max(1_000_000).optional().describe("keep at most this many runs per job (a second bound, after the age bound)"),
    job_id: z.string().min(1).max(200).optional().describe("only this job's runs"),
  })
  .strict();
export type RetentionCleanupInput = z.infer<typeof retentionCleanupInput>;

/** FormData from the page: empty fields mean "not set", numbers arrive as text. */
export const retentionCleanupForm = z.object({
  dry_run: z.enum(["true", "false"]).transform((v) => v === "true"),
  retention_days: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(0).max(36_500).optional()),
  keep_per_job: z.preprocess((v) => (v === "" ? undefined : v), z.coerce.number().int().min(1).max(1_000_000).optional()),
  job_id: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(1).max(200).optional()),
});

export const queryInput = z.object({ sql: z.string().trim().min(1, "type a SELECT statement").max(MAX_QUERY_CHARS) }).strict();
export type QueryInput = z.infer<typeof queryInput>;

/** A table name as given in a URL; checked against the real table list before it becomes SQL. */
export const tableParams = z.object({ table: z.string().min(1).max(128) });

export const swapRecoveredInput = z
  .object({
    operation_id: z.uuid("the id of a finished recover operation"),
    /** the person typed the word to confirm they accept losing what the report lists as not saved */
    confirm: z.literal("swap", { error: 'confirm must be the word "swap"' }),
  })
  .strict();
export type SwapRecoveredInput = z.infer<typeof swapRecoveredInput>;

/**
 * Reset all data: `confirm` must be the instance name shown on the Database page (mimir-xxxxxxxx);
 * `volumes` defaults to all five, as the guide's `docker volume rm` does.
 */
export const resetInput = z
  .object({
    confirm: z.string().min(1, "type the instance name to confirm").max(200),
    volumes: z
      .array(z.enum(VOLUMES))
      .min(1, "choose at least one volume")
      .max(VOLUMES.length)
      .default([...VOLUMES]),
  })
  .strict();
export type ResetInput = z.infer<typeof resetInput>;

/** Body of POST /api/v1/maintenance/migrate-to-postgres and the Database page's form: where to copy the data. */
export const migrateToPostgresInput = z
  .object({
    connection_string: z
      .string()
      .trim()
      .min(1, "enter the PostgreSQL connection string")
      .max(4096)
      .regex(/^postgres(ql)?:\/\/[^\s]*$/, "a postgres:// or postgresql:// URL, e.g. postgres://mimir:password@db:5432/mimir"),
  })
  .strict();
export type MigrateToPostgresInput = z.infer<typeof migrateToPostgresInput>;
