import { pgTable, text, integer, bigint, boolean, index, primaryKey } from "drizzle-orm/pg-core";
import { isoTimestamp } from "./columns";
import { OFFSITE_COPY_PROOFS, OFFSITE_COPY_STATUSES } from "../../vocabulary";

/** PostgreSQL flavour of ../sqlite/offsite.ts (same names, row types, constraints and indexes): where sets are copied to. */
export const offsiteDestinations = pgTable(
  "offsite_destinations",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    /** folder | sftp | s3 | webdav */
    kind: text("kind").notNull(),
    enabled: boolean("enabled").notNull(),
    /** JSON of the kind's settings that are not secret (host, bucket, folder) */
    settings: text("settings").notNull(),
    /** JSON of the kind's secrets, sealed by lib/secrets (AES-256-GCM); never returned by the API */
    secrets: text("secrets"),
    /** the server identity pinned on first contact (SFTP: the host key's SHA256 fingerprint) */
    pinnedIdentity: text("pinned_identity"),
    /** refuse to copy sets written without encryption */
    requireEncrypted: boolean("require_encrypted").notNull(),
    /** remote retention: copies older than keep_days go, the newest keep_min always stay; null keep_days: keep all */
    keepDays: integer("keep_days"),
    keepMin: integer("keep_min").notNull(),
    /** the last connection test: when, and its outcome (null error: passed) */
    lastTestAt: isoTimestamp("last_test_at"),
    lastTestError: text("last_test_error"),
    createdAt: isoTimestamp("created_at").notNull(),
    updatedAt: isoTimestamp("updated_at").notNull(),
  },
  (t) => [index("idx_offsite_destinations_name").on(t.name)],
);

/** The copy of one set at one destination: its state, and the files already proven equal there (so a retry resumes). */
export const offsiteCopies = pgTable(
  "offsite_copies",
  {
    backupId: text("backup_id").notNull(),
    destinationId: text("destination_id").notNull(),
    /** pending | copying | verified | failed */
    status: text("status", { enum: OFFSITE_COPY_STATUSES }).notNull(),
    /** bytes proven equal at the destination so far, and of the whole set */
    bytes: bigint("bytes", { mode: "number" }).notNull(),
    totalBytes: bigint("total_bytes", { mode: "number" }).notNull(),
    /** JSON array of file names already read back and proven equal */
    provenFiles: text("proven_files").notNull(),
    operationId: text("operation_id"),
    startedAt: isoTimestamp("started_at"),
    copiedAt: isoTimestamp("copied_at"),
    verifiedAt: isoTimestamp("verified_at"),
    /** how the remote bytes were proven equal: a checksum the server computed over them, or reading them back */
    verifiedBy: text("verified_by", { enum: OFFSITE_COPY_PROOFS }),
    error: text("error"),
    /** failed attempts since the last verified copy */
    failures: integer("failures").notNull(),
    updatedAt: isoTimestamp("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.backupId, t.destinationId] }), index("idx_offsite_copies_destination").on(t.destinationId, t.status)],
);
