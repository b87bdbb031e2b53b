import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import { backupIdParams, listBackupsQuery, pinBackupInput, pruneBackupsInput, restoreBackupInput, setScheduledBackupsInput } from "@/lib/backups/inputs";
import { BACKUP_TRIGGERS, VERIFY_STATUSES, type BackupDto, type PruneResult } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";
import { OFFSITE_COPY_PROOFS, OFFSITE_COPY_STATUSES } from "@/lib/db/vocabulary";
import { OPERATION_RUNNING, operationSchema as operation } from "@/lib/operations/openapi";

const TAG = "Backups";
const backup = z
  .object({
    id: z.string(),
    created_at: z.string(),
    trigger: z.enum(BACKUP_TRIGGERS),
    bytes: z.number(),
    encrypted: z.boolean(),
    pinned: z.boolean(),
    volumes: z.array(z.object({ name: z.enum(VOLUMES), bytes: z.number(), files: z.number() })),
    row_counts: z.record(z.string(), z.number()),
    verified_at: z.string().nullable(),
    verify_status: z.enum(VERIFY_STATUSES).nullable(),
    verify_error: z.string().nullable(),
    copies: z
      .array(
        z.object({
          destination: z.string(),
          destination_name: z.string(),
          status: z.enum(OFFSITE_COPY_STATUSES),
          bytes: z.number(),
          total_bytes: z.number(),
          copied_at: z.string().nullable(),
          verified_at: z.string().nullable(),
          verified_by: z
            .enum(OFFSITE_COPY_PROOFS)
            .nullable()
            .describe("server-sha256: the server hashed each file on its own disk; read-back: some files were read back over the link and hashed here"),
          error: z.string().nullable(),
          operation_id: z.string().nullable(),
        }),
      )
      .describe("the set's copy at each offsite destination; only status verified counts as a copy"),
  })
  .loose() satisfies z.ZodType<BackupDto>;
const pruneResult = z.object({
  dry_run: z.boolean(),
  skipped_reason: z.string().nullable(),
  deleted: z.array(z.string()),
  kept: z.array(z.object({ id: z.string(), reason: z.string() })),
}) satisfies z.ZodType<PruneResult>;
const scheduledBackups = z.object({
  settings: z.object({ enabled: z.boolean(), enabled_by_env: z.string().nullable(), schedule: z.string() }).loose(),
  jobs: z.array(z.object({ id: z.string(), name: z.string(), enabled: z.boolean().nullable() })),
});
const notFound = { 404: { description: "No such backup set" } };

/** The backup routes, for the OpenAPI document. */
export const BACKUPS_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/backups",
    summary: "Backup sets, newest first",
    tag: TAG,
    access: "read",
    query: listBackupsQuery,
    responses: { 200: { description: "A page of sets", schema: z.object({ items: z.array(backup), next_cursor: z.string().nullable() }) } },
  },
  {
    method: "post",
    path: "/api/v1/backups",
    summary: "Back up now: all five volumes, then the restore drill on the new set; follow /api/v1/operations/{id}",
    tag: TAG,
    access: "write",
    responses: {
      202: { description: "The backup operation", schema: operation },
      409: { description: "A backup, or an exclusive operation (restore, reset), is already running (code operation_running)" },
    },
  },
  {
    method: "get",
    path: "/api/v1/backups/{backupId}",
    summary: "One set",
    tag: TAG,
    access: "read",
    params: backupIdParams,
    responses: { 200: { description: "The set", schema: backup }, ...notFound },
  },
  {
    method: "delete",
    path: "/api/v1/backups/{backupId}",
    summary: "Delete a set",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: backupIdParams,
    responses: { 200: { description: "Deleted", schema: z.object({ deleted: z.string() }) }, ...notFound, 409: { description: "The set is being read" } },
  },
  {
    method: "post",
    path: "/api/v1/backups/{backupId}/verify",
    summary: "Run the restore drill on a set",
    tag: TAG,
    access: "write",
    params: backupIdParams,
    responses: { 202: { description: "The verify operation", schema: operation }, ...notFound, ...OPERATION_RUNNING },
  },
  {
    method: "post",
    path: "/api/v1/backups/{backupId}/restore",
    summary:
      "Restore all or some volumes (exclusive operation): check, swap (the replaced data kept aside as it is), done; the safety set is then written from the replaced data by a backup operation of its own (trigger pre-restore) and verified. Its result names the safety set, the database check, and what was kept from the live database (access_and_audit: a set of this deployment keeps the live users, sessions, API tokens, audit log and notification channels). Cancellable until the swap; afterwards a cancel gets 409 too_late",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: backupIdParams,
    body: restoreBackupInput,
    responses: { 202: { description: "The restore operation", schema: operation }, ...notFound, 409: { description: "Another operation is running" } },
  },
  {
    method: "get",
    path: "/api/v1/backups/{backupId}/download",
    summary: "The whole set as one tar file, streamed",
    tag: TAG,
    access: "admin",
    params: backupIdParams,
    responses: { 200: { description: "The set", contentType: "application/x-tar" }, ...notFound },
  },
  {
    method: "put",
    path: "/api/v1/backups/{backupId}/pin",
    summary: "Pin or unpin a set: prune never removes a pinned set",
    tag: TAG,
    access: "admin",
    params: backupIdParams,
    body: pinBackupInput,
    responses: { 200: { description: "The set", schema: backup }, ...notFound },
  },
  {
    method: "post",
    path: "/api/v1/backups/import",
    summary: "Upload a set file from another instance's download (raw body, size-capped); it is checked before it is listed",
    tag: TAG,
    access: "admin",
    body: z.string(),
    bodyContentTypes: ["application/x-tar"],
    responses: { 202: { description: "The import operation", schema: operation }, ...OPERATION_RUNNING },
  },
  {
    method: "post",
    path: "/api/v1/backups/prune",
    summary: "Delete sets older than backups.keep_days with the guard rails; dry_run lists them",
    tag: TAG,
    access: "admin",
    reauth: true,
    body: pruneBackupsInput,
    responses: { 200: { description: "What went and what stayed, and why", schema: pruneResult } },
  },
  {
    method: "get",
    path: "/api/v1/backups/schedule",
    summary: "Whether scheduled backups are on, and the state of the three built-in backup jobs",
    tag: TAG,
    access: "read",
    responses: { 200: { description: "Settings and jobs", schema: scheduledBackups } },
  },
  {
    method: "put",
    path: "/api/v1/backups/schedule",
    summary: "Turn scheduled backups on or off: switches the built-in backup, prune and verify jobs and writes persistence.backup_enabled",
    tag: TAG,
    access: "admin",
    body: setScheduledBackupsInput,
    responses: {
      200: { description: "Settings and jobs", schema: scheduledBackups },
      409: { description: "MIMIR_BACKUP_ENABLED sets the value (env_override)" },
    },
  },
];
