import "server-only";
import { AppError } from "@/lib/errors";
import type { DestinationKind } from "@/lib/offsite/kinds";
import type { RemoteStore } from "@/lib/offsite/store";
import { createFolderStore } from "@/lib/offsite/stores/folder";
import { createSftpStore, type SftpStoreSettings } from "@/lib/offsite/stores/sftp";

/** What a kind's factory gets: the stored settings, the opened secrets, and the identity pinned on first contact. */
export interface StoreConfig {
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
  pinnedIdentity: string | null;
}

/**
 * The kinds this build can copy to, one line each: a kind's protocol module plugs in here and
 * nowhere else (the settings forms come from lib/offsite/kinds.ts). A kind without a line is
 * refused when a destination of it is saved.
 */
const STORE_FACTORIES: Partial<Record<DestinationKind, (config: StoreConfig) => RemoteStore>> = {
  folder: ({ settings }) => createFolderStore(settings as { path: string }),
  sftp: ({ settings, secrets, pinnedIdentity }) => createSftpStore({ ...settings, ...secrets, host_key_fingerprint: pinnedIdentity } as SftpStoreSettings),
};

export function isKindAvailable(kind: string): boolean {
  return kind in STORE_FACTORIES;
}

export function availableKinds(): DestinationKind[] {
  return Object.keys(STORE_FACTORIES) as DestinationKind[];
}

/** A store for a destination; no connection is made until its first call. */
export function createStore(kind: string, config: StoreConfig): RemoteStore {
  const factory = STORE_FACTORIES[kind as DestinationKind];
  if (!factory) throw new AppError("invalid_input", `Destinations of kind '${kind}' are not available in this build`);
  return factory(config);
}
