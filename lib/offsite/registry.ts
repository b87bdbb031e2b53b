import "server-only";
import { AppError } from "@/lib/errors";
import type { DestinationKind } from "@/lib/offsite/kinds";
import type { RemoteStore } from "@/lib/offsite/store";
import type { DestinationSecrets, DestinationSettings } from "@/lib/offsite/kinds";
import { createFolderStore } from "@/lib/offsite/stores/folder";
import type { SftpStoreSettings } from "@/lib/offsite/stores/sftp";
import { createWebDavStore } from "@/lib/offsite/stores/webdav";

/** What a kind's factory gets: the stored settings, the opened secrets, and the identity pinned on first contact. */
export interface StoreConfig {
  settings: Record<string, unknown>;
  secrets: Record<string, unknown>;
  pinnedIdentity: string | null;
}

/** The optional RemoteStore methods a kind's store has: the lazy stand-in offers exactly those. */
type OptionalMethod = "putFile" | "serverSha256" | "prepareUpload" | "serverIdentity";

/**
 * A store whose protocol module is loaded on its first call. The SDKs behind S3 (@aws-sdk, ~10 MB)
 * and SFTP (ssh2 and its WebAssembly) would otherwise be loaded at boot with every route's code and
 * held by every server, most of which never copy to such a destination (bench/RESULTS-restore-memory.md).
 */
function lazyStore(load: () => Promise<RemoteStore>, optional: readonly OptionalMethod[]): RemoteStore {
  let loading: Promise<RemoteStore> | null = null;
  let loaded: RemoteStore | null = null;
  const store = () =>
    (loading ??= load().then((opened) => {
      loaded = opened;
      return opened;
    }));
  const lazy: RemoteStore = {
    put: async (key, body, size, options) => (await store()).put(key, body, size, options),
    get: async (key, options) => (await store()).get(key, options),
    stat: async (key) => (await store()).stat(key),
    async *list(prefix) {
      yield* (await store()).list(prefix);
    },
    delete: async (key) => (await store()).delete(key),
    // Nothing to release before the first call: closing does not load the module.
    close: async () => {
      if (loading) await (await loading).close();
    },
  };
  if (optional.includes("putFile")) lazy.putFile = async (key, file, size, options) => (await store()).putFile!(key, file, size, options);
  if (optional.includes("serverSha256")) lazy.serverSha256 = async (key, size, options) => (await store()).serverSha256!(key, size, options);
  // Its failures surface in the put that follows, which loads the same module.
  if (optional.includes("prepareUpload"))
    lazy.prepareUpload = () =>
      void store().then(
        (opened) => opened.prepareUpload?.(),
        () => undefined,
      );
  // Known only after a connection, which loaded the module.
  if (optional.includes("serverIdentity")) lazy.serverIdentity = () => loaded?.serverIdentity?.() ?? null;
  return lazy;
}

/**
 * The kinds this build can copy to, one line each: a kind's protocol module plugs in here and
 * nowhere else (the settings forms come from lib/offsite/kinds.ts). A kind without a line is
 * refused when a destination of it is saved.
 */
const STORE_FACTORIES: Partial<Record<DestinationKind, (config: StoreConfig) => RemoteStore>> = {
  folder: ({ settings }) => createFolderStore(settings as { path: string }),
  sftp: ({ settings, secrets, pinnedIdentity }) =>
    lazyStore(
      async () =>
        (await import("@/lib/offsite/stores/sftp")).createSftpStore({ ...settings, ...secrets, host_key_fingerprint: pinnedIdentity } as SftpStoreSettings),
      ["putFile", "serverSha256", "prepareUpload", "serverIdentity"],
    ),
  s3: (config) => {
    // The stored names are the API's (snake_case, lib/offsite/kinds.ts); the store takes the SDK's.
    const settings = config.settings as DestinationSettings<"s3">;
    const secrets = config.secrets as Partial<DestinationSecrets<"s3">>;
    return lazyStore(
      async () =>
        (await import("@/lib/offsite/stores/s3")).createS3Store({
          endpoint: settings.endpoint,
          region: settings.region,
          bucket: settings.bucket,
          prefix: settings.prefix,
          forcePathStyle: settings.path_style,
          accessKeyId: settings.access_key_id,
          secretAccessKey: secrets.secret_access_key ?? "",
        }),
      [],
    );
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
