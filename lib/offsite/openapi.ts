import { z } from "zod";
import { pageOf, type ApiRoute } from "@/lib/openapi-registry";
import { backupIdParams } from "@/lib/backups/inputs";
import { operationSchema as operation } from "@/lib/operations/openapi";
import { DESTINATION_KIND_NAMES } from "@/lib/offsite/kinds";
import {
  copyBackupInput,
  createDestinationInput,
  destinationIdParams,
  pruneDestinationInput,
  remoteSetParams,
  updateDestinationInput,
} from "@/lib/offsite/inputs";
import { TEST_STEPS, type DestinationDto, type DestinationTestDto, type RemotePruneDto, type RemoteSetDto } from "@/lib/offsite/types";

const TAG = "Offsite copies";

const destination = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(DESTINATION_KIND_NAMES),
    enabled: z.boolean(),
    settings: z.record(z.string(), z.unknown()),
    secrets_set: z.array(z.string()),
    pinned_identity: z.string().nullable(),
    require_encrypted: z.boolean(),
    keep_days: z.number().nullable(),
    keep_min: z.number(),
    last_test: z.object({ at: z.string(), ok: z.boolean(), error: z.string().nullable() }).nullable(),
    last_success_at: z.string().nullable(),
    last_failure: z.object({ backup_id: z.string(), at: z.string(), error: z.string().nullable() }).nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .loose() satisfies z.ZodType<DestinationDto>;

const REASONS = ["unreachable", "auth", "host-key-changed", "not-found", "full", "refused", "aborted"] as const;
const testResult = z.object({
  ok: z.boolean(),
  steps: z.array(z.object({ step: z.enum(TEST_STEPS), ok: z.boolean(), error: z.string().nullable() })),
  reason: z.enum(REASONS).nullable(),
  error: z.string().nullable(),
  pinned_identity: z.string().nullable(),
}) satisfies z.ZodType<DestinationTestDto>;

const remoteSet = z.object({
  id: z.string(),
  created_at: z.string(),
  bytes: z.number(),
  encrypted: z.boolean(),
  trigger: z.string(),
  complete: z.boolean(),
  local: z.boolean(),
}) satisfies z.ZodType<RemoteSetDto>;

const pruneResult = z.object({
  dry_run: z.boolean(),
  deleted: z.array(z.string()),
  kept: z.array(z.object({ id: z.string(), reason: z.string() })),
}) satisfies z.ZodType<RemotePruneDto>;

const noDestination = { 404: { description: "No such destination" } };
const remoteFailure = { 422: { description: "The destination could not be reached or refused (code offsite_failed, with its words)" } };

/** The offsite routes, for the OpenAPI document. */
export const OFFSITE_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/destinations",
    summary: "Offsite destinations with their last test, last verified copy and last failure; secrets are named, never returned",
    tag: TAG,
    access: "admin",
    responses: { 200: { description: "Every destination (one page)", schema: pageOf(destination) } },
  },
  {
    method: "post",
    path: "/api/v1/destinations",
    summary: "Add a destination: a mounted folder or SFTP (S3-compatible and WebDAV where this build has them); secrets are sealed at rest",
    tag: TAG,
    access: "admin",
    body: createDestinationInput,
    responses: { 201: { description: "The destination", schema: destination }, 409: { description: "The name is taken (code already_exists)" } },
  },
  {
    method: "get",
    path: "/api/v1/destinations/{destinationId}",
    summary: "One destination",
    tag: TAG,
    access: "admin",
    params: destinationIdParams,
    responses: { 200: { description: "The destination", schema: destination }, ...noDestination },
  },
  {
    method: "put",
    path: "/api/v1/destinations/{destinationId}",
    summary: "Change a destination: settings merge over the stored ones; a secret left out or empty keeps its stored value; repin forgets the pinned host key",
    tag: TAG,
    access: "admin",
    params: destinationIdParams,
    body: updateDestinationInput,
    responses: { 200: { description: "The destination", schema: destination }, ...noDestination },
  },
  {
    method: "delete",
    path: "/api/v1/destinations/{destinationId}",
    summary: "Delete a destination and its copy states; the copies it holds stay there, untouched",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: destinationIdParams,
    responses: { 200: { description: "The destination as it was", schema: destination }, ...noDestination },
  },
  {
    method: "post",
    path: "/api/v1/destinations/{destinationId}/test",
    summary: "Connect, write a probe, read it back, delete it; says which step failed and why. Pins the SFTP host key on the first success",
    tag: TAG,
    access: "admin",
    params: destinationIdParams,
    responses: { 200: { description: "Each step's outcome", schema: testResult }, ...noDestination },
  },
  {
    method: "get",
    path: "/api/v1/destinations/{destinationId}/sets",
    summary: "The sets a destination holds (folders whose manifest this product wrote), newest first; works on a fresh install",
    tag: TAG,
    access: "admin",
    params: destinationIdParams,
    responses: { 200: { description: "Every remote set (one page)", schema: pageOf(remoteSet) }, ...noDestination, ...remoteFailure },
  },
  {
    method: "post",
    path: "/api/v1/destinations/{destinationId}/sets/{backupId}/pull",
    summary: "Pull a set into the backups folder, each archive checked against its manifest on arrival, then the restore drill; restore it as usual after",
    tag: TAG,
    access: "admin",
    params: remoteSetParams,
    responses: {
      202: { description: "The pull operation", schema: operation },
      409: { description: "The set is already in the backups folder (code already_exists)" },
      ...noDestination,
    },
  },
  {
    method: "post",
    path: "/api/v1/destinations/{destinationId}/prune",
    summary: "Remote retention (keep days, keep at least N, never the newest verified set, never objects not ours); dry run by default",
    tag: TAG,
    access: "admin",
    reauth: true,
    params: destinationIdParams,
    body: pruneDestinationInput,
    responses: {
      200: { description: "What was (or would be) deleted and what was kept, with reasons", schema: pruneResult },
      ...noDestination,
      ...remoteFailure,
    },
  },
  {
    method: "post",
    path: "/api/v1/backups/{backupId}/copy",
    summary: "Copy a verified set offsite now (or retry a failed copy): to one destination, or to every enabled one",
    tag: TAG,
    access: "write",
    params: backupIdParams,
    body: copyBackupInput,
    responses: {
      202: {
        description: "The copy operation; when every copy asked for is already running (here or on another instance), the operation running it",
        schema: operation,
      },
      404: { description: "No such set or destination" },
      422: { description: "The set has not passed its restore drill (code verification_failed)" },
      409: {
        description:
          "An exclusive operation is running (code operation_running), or the set is already being copied there by work whose operation is gone (code in_use)",
      },
    },
  },
];
