import { z } from "zod";
import { BACKUP_ID_PATTERN } from "@/lib/backups/inputs";
import { DESTINATION_KINDS, DESTINATION_KIND_NAMES, type DestinationKind } from "@/lib/offsite/kinds";

/** Remote retention bounds: a copy kept ten years is the most a destination is asked to hold. */
export const MAX_KEEP_DAYS = 3650;
export const MAX_KEEP_MIN = 1000;

const destinationBase = {
  name: z.string().trim().min(1).max(100),
  enabled: z.boolean().default(true),
  require_encrypted: z.boolean().default(false),
  keep_days: z.number().int().min(1).max(MAX_KEEP_DAYS).nullable().default(null),
  keep_min: z.number().int().min(1).max(MAX_KEEP_MIN).default(3),
};

function kindInput<K extends DestinationKind>(kind: K) {
  return z
    .object({
      kind: z.literal(kind),
      ...destinationBase,
      settings: z.preprocess((value) => value ?? {}, DESTINATION_KINDS[kind].settings),
      secrets: z.preprocess((value) => value ?? {}, DESTINATION_KINDS[kind].secrets),
    })
    .strict();
}

/** POST /api/v1/destinations: one shape per kind. */
export const createDestinationInput = z.discriminatedUnion(
  "kind",
  DESTINATION_KIND_NAMES.map((kind) => kindInput(kind)) as unknown as [
    ReturnType<typeof kindInput<"folder">>,
    ...ReturnType<typeof kindInput<DestinationKind>>[],
  ],
);
export type CreateDestinationInput = z.output<typeof createDestinationInput>;

/**
 * PUT: any field; `settings` merge over the stored ones and are checked as a whole; a secret left
 * out (or "") keeps the stored value; `repin` forgets the pinned host key so the next test pins the
 * key the server shows now (after the server was really re-keyed).
 */
export const updateDestinationInput = z
  .object({
    name: destinationBase.name,
    enabled: z.boolean(),
    require_encrypted: z.boolean(),
    keep_days: z.number().int().min(1).max(MAX_KEEP_DAYS).nullable(),
    keep_min: z.number().int().min(1).max(MAX_KEEP_MIN),
    settings: z.record(z.string().max(64), z.unknown()),
    secrets: z.record(z.string().max(64), z.string().max(16384)),
    repin: z.literal(true),
  })
  .partial()
  .strict();
export type UpdateDestinationInput = z.output<typeof updateDestinationInput>;

export const destinationIdParams = z.object({ destinationId: z.string().min(1).max(64) });
export const remoteSetParams = destinationIdParams.extend({ backupId: z.string().regex(BACKUP_ID_PATTERN, "a backup id like 20250115-020000") });

/** POST /api/v1/backups/{backupId}/copy: one destination, or every enabled one. */
export const copyBackupInput = z.object({ destination_id: z.string().min(1).max(64).optional() }).strict();
export type CopyBackupInput = z.output<typeof copyBackupInput>;

export const pruneDestinationInput = z.object({ dry_run: z.boolean().default(true) }).strict();
