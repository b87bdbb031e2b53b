import "server-only";
import stream, { type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { createOutboundAgents } from "@/lib/net/outbound";
import { RemoteStoreError, type RemoteObject, type RemoteStore, type TransferOptions } from "@/lib/offsite/store";
import { checkKey, checkPrefix, commonFailure, countingStream, sizedStream } from "@/lib/offsite/stores/common";

/**
 * The `s3` destination kind: any S3-compatible service (AWS, Backblaze B2, Cloudflare R2, Wasabi,
 * MinIO, Garage, Ceph) through the official AWS SDK v3. Uploads are streamed multipart uploads
 * (@aws-sdk/lib-storage), so memory stays at partSize × queueSize whatever the set's size.
 */
export interface S3Settings {
  /** Empty for AWS itself; the service's URL otherwise (https://s3.eu-central-003.backblazeb2.com, https://<account>.r2.cloudflarestorage.com). */
  endpoint?: string;
  region: string;
  bucket: string;
  /** A folder inside the bucket every key is put under ("" or e.g. "mimir/prod"). */
  prefix?: string;
  /** bucket in the path (MinIO, Garage, most self-hosted servers) rather than in the host name. */
  forcePathStyle?: boolean;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3StoreOptions {
  /** Bytes per multipart part (at least 5 MiB, S3's minimum; default 8 MiB). Sets below one part go up in one PutObject. */
  partSize?: number;
  /** Parts in flight at once (default 2: R2 documents problems above that, and it keeps memory at 16 MiB). */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (default and S3's maximum: 1000). */
  listPageSize?: number;
  /** A connection that moves no byte for this long is given up as unreachable (default 120 s). */
  idleTimeoutMs?: number;
}

const MIB = 1024 * 1024;

/** S3 error codes that say the quota or the storage behind it is full (AWS, MinIO, Ceph/RGW, Garage, B2). */
const FULL_CODES = new Set(["EntityTooLarge", "QuotaExceeded", "XMinioStorageFull", "StorageFull", "InsufficientStorage", "StorageLimitExceeded"]);
const AUTH_CODES = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "AccessDenied",
  "InvalidToken",
  "ExpiredToken",
  "TokenRefreshRequired",
  "AuthorizationHeaderMalformed",
  "InvalidSecurity",
  "Unauthorized",
]);

/** "mimir/prod" → "mimir/prod/"; "" stays "". Leading and trailing slashes are forgiven here: it is operator input. */
function normalisePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  checkKey(trimmed);
  return `${trimmed}/`;
}

function serviceCode(error: S3ServiceException): string {
  return (error as { Code?: string }).Code ?? error.name;
}

/** An SDK failure in words the copy loop can act on; `what` names the operation and key, never a credential. */
function toRemoteError(error: unknown, what: string, signal?: AbortSignal): RemoteStoreError {
  const common = commonFailure(error, what, signal);
  if (common) return common;
  if (error instanceof S3ServiceException) {
    const code = serviceCode(error);
    const status = error.$metadata?.httpStatusCode;
    const detail = `${code}${status ? ` (HTTP ${status})` : ""}${error.message && error.message !== code && error.message !== "UnknownError" ? `: ${error.message}` : ""}`;
    if (code === "NoSuchKey" || code === "NotFound") return new RemoteStoreError("not-found", `${what}: no such object`, { cause: error });
    if (code === "NoSuchBucket") return new RemoteStoreError("refused", `${what}: the bucket does not exist (${detail})`, { cause: error });
    // Before the 403 rule: some services answer a full quota with 403 (QuotaExceeded).
    if (FULL_CODES.has(code) || status === 507) return new RemoteStoreError("full", `${what}: no room on the remote side (${detail})`, { cause: error });
    if (AUTH_CODES.has(code) || status === 401 || status === 403)
      return new RemoteStoreError("auth", `${what}: the service refused the credentials (${detail})`, { cause: error });
    // Throttling and server-side errors are transient by AWS's own rules: retried with backoff above.
    if (
      code === "SlowDown" ||
      code === "ServiceUnavailable" ||
      code === "InternalError" ||
      code === "RequestTimeout" ||
      (status !== undefined && status >= 500)
    ) {
      return new RemoteStoreError("unreachable", `${what}: the service is unavailable (${detail})`, { cause: error });
    }
    if (status === 404) return new RemoteStoreError("not-found", `${what}: ${detail}`, { cause: error });
    return new RemoteStoreError("refused", `${what}: ${detail}`, { cause: error });
  }
  return new RemoteStoreError("refused", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

export function createS3Store(settings: S3Settings, options: S3StoreOptions = {}): RemoteStore {
  const partSize = Math.max(5 * MIB, options.partSize ?? 8 * MIB);
  const queueSize = Math.max(1, options.queueSize ?? 2);
  const root = normalisePrefix(settings.prefix);
  const Bucket = settings.bucket;
  // Every connection goes through the outbound guard, like webhooks and mail: a loopback or private
  // endpoint (a MinIO on the LAN) must be allowed in network.allowed_destinations.
  const agents = createOutboundAgents();
  const client = new S3Client({
    endpoint: settings.endpoint?.trim() || undefined,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle ?? false,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    requestHandler: new NodeHttpHandler({
      httpAgent: agents.http,
      httpsAgent: agents.https,
      connectionTimeout: 10_000,
      socketTimeout: options.idleTimeoutMs ?? 120_000,
    }),
    // Retries and backoff are decided once, above the RemoteStore interface, for every kind alike.
    maxAttempts: 1,
    // No aws-chunked trailers or CRC32 defaults: R2, B2 and most self-hosted servers reject them, and
    // the copy is proven by the sha256 read back above this layer, not by a transport checksum.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });

  const fullKey = (key: string) => root + checkKey(key);

  return {
    async put(key, body, size, transfer: TransferOptions = {}) {
      const Key = fullKey(key);
      const what = `put ${key}`;
      if (transfer.signal?.aborted) {
        body.destroy();
        throw new RemoteStoreError("aborted", `${what}: aborted`);
      }
      // Piped through a size check: S3 would otherwise wait for bytes a short source never gives.
      const counter = sizedStream(size, what);
      const source = pipeline(body, counter).catch(() => undefined);
      const upload = new Upload({ client, params: { Bucket, Key, Body: counter, ContentLength: size }, partSize, queueSize, leavePartsOnError: false });
      upload.on("httpUploadProgress", (progress) => {
        if (progress.loaded !== undefined) transfer.onProgress?.(progress.loaded);
      });
      const onAbort = () => {
        void upload.abort();
        counter.destroy(new RemoteStoreError("aborted", `${what}: aborted`));
      };
      transfer.signal?.addEventListener("abort", onAbort, { once: true });
      try {
        await upload.done();
        await source;
      } catch (error) {
        counter.destroy();
        // lib-storage aborts the multipart upload itself once its part uploads settle; this makes
        // sure of it even when done() returned early (an abort), so no parts are left to be billed.
        const uploadId = (upload as unknown as { uploadId?: string }).uploadId;
        if (uploadId) await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
        throw toRemoteError(error, what, transfer.signal);
      } finally {
        transfer.signal?.removeEventListener("abort", onAbort);
      }
    },

    async get(key, transfer: TransferOptions = {}) {
      const what = `get ${key}`;
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket, Key: fullKey(key) }), { abortSignal: transfer.signal });
        const body = answer.Body as Readable | undefined;
        if (!body) throw new RemoteStoreError("refused", `${what}: the service sent no body`);
        const counter = countingStream((total) => transfer.onProgress?.(total));
        // Errors while streaming (a reset mid-download) reach the reader mapped like any other.
        body.on("error", (error) => counter.destroy(toRemoteError(error, what, transfer.signal)));
        // pipeline, not pipe: a reader that stops early (destroys the stream) also closes the connection.
        stream.pipeline(body, counter, () => undefined);
        return counter;
      } catch (error) {
        throw toRemoteError(error, what, transfer.signal);
      }
    },

    async stat(key): Promise<RemoteObject | null> {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: fullKey(key) }));
        return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified?.toISOString() };
      } catch (error) {
        const mapped = toRemoteError(error, `stat ${key}`);
        if (mapped.reason === "not-found") return null;
        throw mapped;
      }
    },

    async *list(prefix) {
      const Prefix = root + checkPrefix(prefix);
      try {
        for await (const page of paginateListObjectsV2({ client, pageSize: Math.min(1000, Math.max(1, options.listPageSize ?? 1000)) }, { Bucket, Prefix })) {
          for (const object of page.Contents ?? []) {
            // Keys ending in "/" are folder markers some consoles create, not objects.
            if (!object.Key || object.Key.endsWith("/") || !object.Key.startsWith(root)) continue;
            yield { key: object.Key.slice(root.length), size: object.Size ?? 0, modifiedAt: object.LastModified?.toISOString() };
          }
        }
      } catch (error) {
        throw toRemoteError(error, `list ${prefix || "(all)"}`);
      }
    },

    async delete(key) {
      try {
        await client.send(new DeleteObjectCommand({ Bucket, Key: fullKey(key) }));
      } catch (error) {
        const mapped = toRemoteError(error, `delete ${key}`);
        if (mapped.reason !== "not-found") throw mapped;
      }
    },

    async close() {
      client.destroy();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
