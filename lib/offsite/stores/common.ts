import { Transform } from "node:stream";
import { isAppError } from "@/lib/errors";
import { RemoteStoreError } from "@/lib/offsite/store";

/**
 * What the HTTP-based kinds (S3, WebDAV) share: the key rules, progress counting, and the mapping of
 * errors that are not the protocol's own (network, outbound guard, abort) to a RemoteFailure.
 */

/**
 * Keys are relative "/"-separated paths: no leading or doubled "/", no "." or ".." segment, no
 * control characters. A key that breaks these is a bug above the store, refused before any request
 * so it can never name something outside the destination's root.
 */
export function checkKey(key: string): string {
  const segments = key.split("/");
  if (key === "" || segments.some((s) => s === "" || s === "." || s === "..") || /[\u0000-\u001f\u007f\\]/.test(key)) {
    throw new RemoteStoreError("refused", `"${key}" is not a valid key: a relative path of non-empty names without "." or ".."`);
  }
  return key;
}

/** A prefix for list(): "" or a key start, with the same rules except that it may end in "/". */
export function checkPrefix(prefix: string): string {
  if (prefix === "") return prefix;
  checkKey(prefix.endsWith("/") ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** A pass-through that reports the cumulative bytes through it. */
export function countingStream(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

/**
 * A pass-through that holds the body to the size the caller announced: it fails as soon as more
 * comes, or at the end when less came, so the upload fails instead of the remote side waiting for
 * bytes that never come (or storing a different object than the one announced).
 */
export function sizedStream(size: number, what: string, onBytes?: (total: number) => void): Transform {
  let total = 0;
  const wrong = (got: string) => new RemoteStoreError("refused", `${what}: the source gave ${got} bytes, not the ${size} announced`);
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > size) return callback(wrong(`more than ${size}`));
      onBytes?.(total);
      callback(null, chunk);
    },
    flush(callback) {
      callback(total === size ? null : wrong(String(total)));
    },
  });
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_SOCKET_CONNECTION_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
  "TimeoutError",
  "RequestTimeout",
]);

/** Walks an error and its causes for a network-level code (the SDKs and undici wrap the socket's error). */
function networkCode(error: unknown): string | null {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && NETWORK_CODES.has(code)) return code;
    if (NETWORK_CODES.has(current.name)) return current.name;
    if (current.message === "socket hang up" || current.message === "other side closed") return "ECONNRESET";
  }
  return null;
}

/**
 * The failures every HTTP kind has alike, or null for the caller's own protocol mapping: an error
 * already mapped, the outbound guard's refusal (an operator must allow the address: retrying will
 * not help), an abort, and network errors (retried with backoff above this layer).
 */
export function commonFailure(error: unknown, what: string, signal?: AbortSignal): RemoteStoreError | null {
  if (error instanceof RemoteStoreError) return error;
  const appError = isAppError(error) ? error : error instanceof Error && isAppError(error.cause) ? error.cause : null;
  if (appError) {
    const reason = appError.code === "destination_unreachable" ? "unreachable" : "refused";
    return new RemoteStoreError(reason, `${what}: ${appError.message}`, { cause: error });
  }
  if (signal?.aborted || (error instanceof Error && (error.name === "AbortError" || (error as NodeJS.ErrnoException).code === "UND_ERR_ABORTED"))) {
    return new RemoteStoreError("aborted", `${what}: aborted`, { cause: error });
  }
  const code = networkCode(error);
  if (code) return new RemoteStoreError("unreachable", `${what}: ${code === "TimeoutError" ? "timed out" : code}`, { cause: error });
  return null;
}
