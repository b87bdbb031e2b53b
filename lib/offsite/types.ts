/** JSON-safe shapes of offsite copies, shared by the API, the Backups page and the CLI. */
import type { DestinationKind } from "@/lib/offsite/kinds";
import type { BackupDto } from "@/lib/backups/types";
import { OFFSITE_COPY_STATUSES, type OffsiteCopyProof } from "@/lib/db/vocabulary";
import type { RemoteFailure } from "@/lib/offsite/store";

export { OFFSITE_COPY_STATUSES };
export type OffsiteCopyStatus = (typeof OFFSITE_COPY_STATUSES)[number];

export interface DestinationDto {
  id: string;
  name: string;
  kind: DestinationKind;
  enabled: boolean;
  /** the kind's settings that are not secret */
  settings: Record<string, unknown>;
  /** names of the secrets that are stored (their values are never returned) */
  secrets_set: string[];
  /** SFTP: the host key fingerprint pinned on first contact; null until then */
  pinned_identity: string | null;
  require_encrypted: boolean;
  /** remote retention: null keeps every copy */
  keep_days: number | null;
  keep_min: number;
  last_test: { at: string; ok: boolean; error: string | null } | null;
  /** the newest verified copy, and the newest attempt when it failed since */
  last_success_at: string | null;
  last_failure: { backup_id: string; at: string; error: string | null } | null;
  created_at: string;
  updated_at: string;
}

export interface CopyDto {
  /** the destination's id */
  destination: string;
  destination_name: string;
  status: OffsiteCopyStatus;
  /** bytes proven equal at the destination so far, of total_bytes */
  bytes: number;
  total_bytes: number;
  copied_at: string | null;
  verified_at: string | null;
  /** how the remote bytes were proven: "server-sha256" (the server hashed every file on its disk) or "read-back" (some were read back) */
  verified_by: OffsiteCopyProof | null;
  error: string | null;
  operation_id: string | null;
}

export type BackupWithCopiesDto = BackupDto & { copies: CopyDto[] };

export const TEST_STEPS = ["connect", "write", "read-back", "delete"] as const;
export type TestStep = (typeof TEST_STEPS)[number];

export interface DestinationTestDto {
  ok: boolean;
  /** each step in order; the first that failed carries the reason, the ones after it did not run */
  steps: { step: TestStep; ok: boolean; error: string | null }[];
  /** why it failed, in the words the copy loop uses ("unreachable", "auth", "host-key-changed", …) */
  reason: RemoteFailure | null;
  error: string | null;
  pinned_identity: string | null;
}

export interface RemoteSetDto {
  id: string;
  created_at: string;
  bytes: number;
  encrypted: boolean;
  trigger: string;
  /** every archive the manifest names is there with its recorded size */
  complete: boolean;
  /** the set is in the local backups folder too */
  local: boolean;
}

export interface RemotePruneDto {
  dry_run: boolean;
  deleted: string[];
  kept: { id: string; reason: string }[];
}
