import type { Readable } from "node:stream";

/**
 * The one surface every offsite destination kind (folder, SFTP, S3, WebDAV) offers to the copy,
 * pull, retention and test code in lib/offsite. Each kind lives in lib/offsite/stores/<kind>.ts and
 * knows only its protocol: retries, verification (size + sha256 read back), layout and retention are
 * decided once, above this interface, so every kind gets them alike.
 *
 * Keys are "/"-separated paths relative to the destination's own root (its folder, or its bucket
 * and prefix), e.g. "mimir-backup-2026-12-03T08-00-00Z/manifest.json": the remote layout is the
 * local set layout, so stock tools (`aws s3 cp`, `sftp`, a WebDAV client) fetch a set as it is.
 */
export interface RemoteObject {
  key: string;
  size: number;
  /** When the remote side last wrote it (ISO-8601), where the protocol says. */
  modifiedAt?: string;
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** Called with the bytes moved so far (cumulative), for progress bars. */
  onProgress?: (bytes: number) => void;
  /**
   * put/putFile: called once the link is free for the next upload, when that comes before the
   * promise settles (SFTP: every byte acknowledged, while the server still makes the file durable
   * and gives it its name). The promise still says whether the object landed.
   */
  onSent?: () => void;
}

export interface RemoteStore {
  /**
   * Streams `body` (exactly `size` bytes) to `key`, replacing what was there, creating parent
   * folders as the protocol needs. Resolves only once the remote side acknowledged every byte; a
   * failure leaves no object at `key` that could be mistaken for a whole one where the protocol
   * allows (upload to a temporary name and rename, or a multipart upload that is aborted).
   */
  put(key: string, body: Readable, size: number, options?: TransferOptions): Promise<void>;
  /**
   * put() of a local file that the store reads itself, where that costs less than taking it as a
   * stream (SFTP: into one buffer reused for every read, so the file's bytes leave no garbage to
   * collect). Same promises as put(); kinds without it are given a stream of the file through put().
   */
  putFile?(key: string, file: string, size: number, options?: TransferOptions): Promise<void>;
  /** The object's bytes as a stream; rejects with a RemoteStoreError of reason "not-found" when absent. */
  get(key: string, options?: TransferOptions): Promise<Readable>;
  /** The object's size, or null when there is none at `key`. */
  stat(key: string): Promise<RemoteObject | null>;
  /** Every object whose key starts with `prefix` ("" for all), at any depth, in no promised order. */
  list(prefix: string): AsyncIterable<RemoteObject>;
  /** Removes the object; deleting one that is already gone succeeds. */
  delete(key: string): Promise<void>;
  /**
   * The sha256 of the object as the server computes it from the bytes on its own disk (SFTP: the
   * server's `sha256sum` run over the same SSH connection), so a copy is proven without reading it
   * back over the link; null when the server offers no such thing (exec refused, no tool), and the
   * caller reads the object back instead. Kinds without one leave it out. `size` bounds the wait.
   */
  serverSha256?(key: string, size: number, options?: { signal?: AbortSignal }): Promise<string | null>;
  /**
   * Starts, in the background, what uploads will need (SFTP: the system ssh client and the server's
   * hash loop), so that it is ready by the first put; failures surface there. Kinds without such
   * setup leave it out.
   */
  prepareUpload?(): void;
  /** Releases connections (SFTP sessions, HTTP agents). */
  close(): Promise<void>;
  /**
   * The identity the server showed on the last connection (SFTP: its host key's SHA256
   * fingerprint), for pinning on first contact; kinds without one leave it out.
   */
  serverIdentity?(): string | null;
}

/** Why a remote operation failed, in words the copy loop and the page can act on. */
export type RemoteFailure =
  | "unreachable" // DNS, refused, reset, timed out: worth retrying with backoff
  | "auth" // wrong key, password or signature: retrying will not help
  | "host-key-changed" // SFTP: the server's key is not the pinned one: refuse, never retry
  | "not-found"
  | "full" // the remote disk or quota is full
  | "refused" // the server answered with an error that is not one of the above
  | "aborted";

export class RemoteStoreError extends Error {
  constructor(
    readonly reason: RemoteFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "RemoteStoreError";
  }

  /** Network-level failures are retried with backoff; the rest are reported at once. */
  get retryable(): boolean {
    return this.reason === "unreachable";
  }
}
