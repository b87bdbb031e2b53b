import "server-only";
import { AppError } from "@/lib/errors";
import type { DestinationKind } from "@/lib/offsite/kinds";
import type { RemoteStore } from "@/lib/offsite/store";
import type { DestinationSecrets, DestinationSettings } from "@/lib/offsite/kinds";
import { createFolderStore } from "@/lib/offsite/stores/folder";
import { createS3Store } from "@/lib/offsite/stores/s3";
import { createSftpStore, type SftpStoreSettings } from "@/lib/offsite/stores/sftp";
import { createWebDavStore } from "@/lib/offsite/stores/webdav";

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
  s3: (config) => {
    // The stored names are the API's (snake_case, lib/offsite/kinds.ts); the store takes the SDK's.
    const settings = config.settings as DestinationSettings<"s3">;
    const secrets = config.secrets as Partial<DestinationSecrets<"s3">>;
    return createS3Store({
      endpoint: settings.endpoint,
      region: settings.region,
      bucket: settings.bucket,
      prefix: settings.prefix,
      forcePathStyle: settings.path_style,
      accessKeyId: settings.access_key_id,
      secretAccessKey: secrets.secret_access_key ?? "",
    });
  },
  webdav: (config) => {
    const settings = config.settings as DestinationSettings<"webdav">;
    const secrets = config.secrets as DestinationSecrets<"webdav">;
    return createWebDavStore({ url: settings.url, username: settings.user || undefined, password: secrets.password });
  },
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
