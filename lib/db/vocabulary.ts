/**
 * The closed lists of values that text columns hold. They sit here, below every capability, because
 * the schema declares its enum columns from them (lib/db/schema); each capability's types.ts exports
 * its own lists again with the types derived from them. No imports: pages in the browser load these.
 * SQLite keeps text either way: the lists are enforced by the compiler on every write the code makes.
 */

/** job_executions.status, as Mimir AIP writes it, plus `skipped` (a fire while the job was still running). */
export const EXECUTION_STATUSES = ["running", "success", "failed", "cancelled", "skipped"] as const;
/** job_executions.triggered_by */
export const TRIGGERS = ["scheduler", "api", "manual"] as const;

/** operations.kind: every long-running thing the console does. */
export const OPERATION_KINDS = [
  "backup",
  "verify",
  "restore",
  "import",
  "vacuum",
  "analyze",
  "integrity_check",
  "checkpoint",
  "recover",
  "retention_cleanup",
  "reset",
  "offsite_copy",
  "offsite_pull",
  "offsite_prune",
  "migrate_to_postgres",
] as const;
/** operations.status */
export const OPERATION_STATUSES = ["running", "succeeded", "failed", "cancelled"] as const;

/** backups.trigger: what made a set. */
export const BACKUP_TRIGGERS = ["manual", "api", "schedule", "cli", "pre-restore", "pre-reset", "import"] as const;
/** backups.verify_status: the outcome of a set's last restore drill. */
export const VERIFY_STATUSES = ["ok", "failed"] as const;

/** offsite_copies.status: a set's copy at one destination. Only `verified` counts as a copy. */
export const OFFSITE_COPY_STATUSES = ["pending", "copying", "verified", "failed"] as const;
/** How an offsite copy was proven: sha256 computed by the server over the bytes on its disk, or the bytes read back. */
export const OFFSITE_COPY_PROOFS = ["server-sha256", "read-back"] as const;
export type OffsiteCopyProof = (typeof OFFSITE_COPY_PROOFS)[number];
