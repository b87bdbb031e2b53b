import "server-only";
import { randomBytes } from "node:crypto";
import stream, { type Readable } from "node:stream";
import { XMLParser } from "fast-xml-parser";
import { request, type Dispatcher } from "undici";
import { outboundDispatcher } from "@/lib/net/outbound";
import { RemoteStoreError, type RemoteObject, type RemoteStore, type TransferOptions } from "@/lib/offsite/store";
import { checkKey, checkPrefix, commonFailure, countingStream, sizedStream } from "@/lib/offsite/stores/common";
import { PARTIAL_MARK } from "@/lib/offsite/stores/folder";

/**
 * The `webdav` destination kind (Nextcloud/ownCloud, Apache mod_dav, nginx dav, rclone serve, NAS
 * boxes), on undici directly: the protocol needs only a handful of methods, and undici lets a PUT
 * stream a body with its exact Content-Length through the outbound guard's dispatcher.
 *
 * A put goes to a temporary name beside the key (the key + PARTIAL_MARK + random, the form the folder
 * and SFTP stores use) and is then MOVEd onto the key, so a broken upload never sits at the final key.
 * list() shows those names like the other stores do: the copy engine and the prune recognise the
 * mark and remove what a killed process left behind.
 */
export interface WebDavSettings {
  /** The collection that is the destination's root, e.g. https://cloud.example/remote.php/dav/files/ops/backups/ */
  url: string;
  username?: string;
  password?: string;
}

const PROPFIND_BODY = `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/></D:prop></D:propfind>`;
/** Bounds on what is read from answers that are not object bodies (errors, PROPFIND). */
const MAX_LISTING_BYTES = 64 * 1024 * 1024;

const xml = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === "response" || name === "propstat",
});

interface Entry {
  /** The decoded path below the root, without a trailing "/" ("" for the root itself). */
  path: string;
  collection: boolean;
  size: number;
  modifiedAt?: string;
}

/** A status that is not the one wanted, in the words the copy loop acts on. */
function statusFailure(status: number, what: string): RemoteStoreError {
  if (status === 401 || status === 403) return new RemoteStoreError("auth", `${what}: the server refused the credentials (HTTP ${status})`);
  if (status === 404 || status === 410) return new RemoteStoreError("not-found", `${what}: not found (HTTP ${status})`);
  if (status === 507 || status === 413) return new RemoteStoreError("full", `${what}: no room on the server (HTTP ${status})`);
  if (status === 502 || status === 503 || status === 504) return new RemoteStoreError("unreachable", `${what}: the server is unavailable (HTTP ${status})`);
  return new RemoteStoreError("refused", `${what}: the server answered HTTP ${status}`);
}

function toRemoteError(error: unknown, what: string, signal?: AbortSignal): RemoteStoreError {
  const common = commonFailure(error, what, signal);
  if (common) return common;
  if ((error as NodeJS.ErrnoException)?.code === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH") {
    return new RemoteStoreError("refused", `${what}: the source did not give the announced number of bytes`, { cause: error });
  }
  return new RemoteStoreError("refused", `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

export interface WebDavStoreOptions {
  /** A request that moves no byte for this long is given up as unreachable (default 120 s). */
  idleTimeoutMs?: number;
}

export function createWebDavStore(settings: WebDavSettings, options: WebDavStoreOptions = {}): RemoteStore {
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  const base = new URL(settings.url.endsWith("/") ? settings.url : `${settings.url}/`);
  if (base.protocol !== "http:" && base.protocol !== "https:")
    throw new RemoteStoreError("refused", `WebDAV needs an http:// or https:// URL, not ${base.protocol}`);
  const auth = settings.username ? `Basic ${Buffer.from(`${settings.username}:${settings.password ?? ""}`).toString("base64")}` : undefined;
  // Credentials go in the header only: the URL used for requests and messages carries none.
  base.username = "";
  base.password = "";
  const basePath = decodeURIComponent(base.pathname);
  /** Folders known to exist (created or seen), so a set's files do not MKCOL the same folders again. */
  const knownFolders = new Set<string>([""]);
  let rootChecked = false;
  const dispatcher = outboundDispatcher();

  const urlOf = (path: string, folder = false) => new URL(path.split("/").map(encodeURIComponent).join("/") + (folder && path !== "" ? "/" : ""), base);

  async function send(
    method: string,
    url: URL,
    init: { headers?: Record<string, string>; body?: Readable | string; signal?: AbortSignal } = {},
  ): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...init.headers };
    if (auth) headers.authorization = auth;
    return request(url, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body: init.body,
      signal: init.signal,
      dispatcher,
      headersTimeout: idleTimeoutMs,
      bodyTimeout: idleTimeoutMs,
    });
  }

  /** Drains an answer we do not read, so the connection can be reused. */
  const discard = (response: Dispatcher.ResponseData) => response.body.dump().catch(() => undefined);

  async function propfind(path: string, depth: "0" | "1", what: string): Promise<Entry[] | null> {
    const response = await send("PROPFIND", urlOf(path, depth === "1"), {
      headers: { depth, "content-type": "application/xml; charset=utf-8" },
      body: PROPFIND_BODY,
    });
    if (response.statusCode === 404) {
      await discard(response);
      return null;
    }
    if (response.statusCode !== 207) {
      await discard(response);
      throw statusFailure(response.statusCode, what);
    }
    // Decoded once at the end: a name's multi-byte character can straddle two chunks.
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of response.body) {
      chunks.push(chunk as Buffer);
      bytes += (chunk as Buffer).length;
      if (bytes > MAX_LISTING_BYTES) throw new RemoteStoreError("refused", `${what}: the listing is larger than ${MAX_LISTING_BYTES} bytes`);
    }
    return parseMultistatus(Buffer.concat(chunks).toString("utf8"));
  }

  function parseMultistatus(text: string): Entry[] {
    const document = xml.parse(text) as { multistatus?: { response?: Array<Record<string, unknown>> } };
    const entries: Entry[] = [];
    for (const response of document.multistatus?.response ?? []) {
      const href = String(response.href ?? "");
      // href is an absolute path or URL, percent-encoded: compared decoded, below the root's own path.
      const decoded = decodeURIComponent(new URL(href, base).pathname);
      if (!decoded.startsWith(basePath) && `${decoded}/` !== basePath) continue;
      const path = decoded.slice(basePath.length).replace(/\/+$/, "");
      const ok = ((response.propstat as Array<Record<string, unknown>> | undefined) ?? []).find((p) => / 200 /.test(String(p.status ?? "")));
      const prop = (ok?.prop ?? {}) as Record<string, unknown>;
      const resourcetype = prop.resourcetype;
      const collection = typeof resourcetype === "object" && resourcetype !== null && "collection" in resourcetype;
      const modified = prop.getlastmodified ? new Date(String(prop.getlastmodified)) : undefined;
      entries.push({
        path,
        collection,
        size: Number(prop.getcontentlength ?? 0) || 0,
        modifiedAt: modified && !Number.isNaN(modified.getTime()) ? modified.toISOString() : undefined,
      });
    }
    return entries;
  }

  /** The root must exist and accept the credentials; checked once, so a wrong password fails before a large upload starts. */
  async function checkRoot(what: string): Promise<void> {
    if (rootChecked) return;
    const entries = await propfind("", "0", what);
    if (entries === null) throw new RemoteStoreError("not-found", `${what}: the destination folder ${base.pathname} does not exist on the server`);
    rootChecked = true;
  }

  /** MKCOL for each missing folder from the root down (WebDAV creates one level at a time). */
  async function ensureFolders(folder: string, what: string): Promise<void> {
    const segments = folder === "" ? [] : folder.split("/");
    for (let depth = 1; depth <= segments.length; depth++) {
      const path = segments.slice(0, depth).join("/");
      if (knownFolders.has(path)) continue;
      const response = await send("MKCOL", urlOf(path, true));
      await discard(response);
      // 405: it exists already (RFC 4918 9.3.1); some servers redirect a folder to its "/" form.
      if (response.statusCode !== 201 && response.statusCode !== 405 && response.statusCode !== 301)
        throw statusFailure(response.statusCode, `${what}: creating ${path}/`);
      knownFolders.add(path);
    }
  }

  async function remove(path: string, what: string): Promise<void> {
    const response = await send("DELETE", urlOf(path));
    await discard(response);
    if (response.statusCode >= 300 && response.statusCode !== 404) throw statusFailure(response.statusCode, what);
  }

  return {
    async put(key, body, size, transfer: TransferOptions = {}) {
      const what = `put ${key}`;
      checkKey(key);
      const slash = key.lastIndexOf("/");
      const folder = slash === -1 ? "" : key.slice(0, slash);
      const temporary = `${key}${PARTIAL_MARK}${randomBytes(6).toString("hex")}`;
      let sent = false;
      // undici's timeouts watch the wait for the answer and the answer's body, not the sending: a
      // server that stops reading mid-upload would hold the PUT forever. This watchdog fires when no
      // byte of the body moved for idleTimeoutMs (the wait for the answer is undici's headersTimeout).
      const idle = new AbortController();
      const watchdog = setTimeout(() => idle.abort(), idleTimeoutMs);
      const signal = transfer.signal ? AbortSignal.any([transfer.signal, idle.signal]) : idle.signal;
      try {
        if (transfer.signal?.aborted) throw new RemoteStoreError("aborted", `${what}: aborted`);
        await checkRoot(what);
        await ensureFolders(folder, what);
        // Held to the announced size, so a short source fails here rather than as a stalled request.
        const counter = sizedStream(size, what, (total) => {
          watchdog.refresh();
          transfer.onProgress?.(total);
        });
        // Once the whole body is out, the wait for the answer is undici's headersTimeout.
        counter.once("end", () => clearTimeout(watchdog));
        stream.pipeline(body, counter, () => undefined);
        watchdog.refresh(); // the folder checks before do not count against the upload
        sent = true;
        const response = await send("PUT", urlOf(temporary), {
          headers: { "content-length": String(size), "content-type": "application/octet-stream" },
          body: counter,
          signal,
        });
        await discard(response);
        if (response.statusCode < 200 || response.statusCode >= 300) throw statusFailure(response.statusCode, what);
        const moved = await send("MOVE", urlOf(temporary), { headers: { destination: urlOf(key).href, overwrite: "T" }, signal: transfer.signal });
        await discard(moved);
        if (moved.statusCode !== 201 && moved.statusCode !== 204) throw statusFailure(moved.statusCode, `${what}: moving the upload onto ${key}`);
      } catch (error) {
        body.destroy();
        // A folder someone removed meanwhile is created again on the next try.
        knownFolders.clear();
        knownFolders.add("");
        if (idle.signal.aborted && !transfer.signal?.aborted)
          error = new RemoteStoreError("unreachable", `${what}: no byte moved for ${idleTimeoutMs / 1000} s`, { cause: error });
        // Best effort: the server may be the thing that failed. What is left has a temporary name no
        // later put reuses (never the key itself), which the copy engine removes on its next attempt.
        if (sent) await remove(temporary, what).catch(() => undefined);
        throw toRemoteError(error, what, transfer.signal);
      } finally {
        clearTimeout(watchdog);
      }
    },

    async get(key, transfer: TransferOptions = {}) {
      const what = `get ${key}`;
      try {
        const response = await send("GET", urlOf(checkKey(key)), { signal: transfer.signal });
        if (response.statusCode !== 200) {
          await discard(response);
          throw statusFailure(response.statusCode, what);
        }
        const counter = countingStream((total) => transfer.onProgress?.(total));
        response.body.on("error", (error) => counter.destroy(toRemoteError(error, what, transfer.signal)));
        // pipeline, not pipe: a reader that stops early (destroys the stream) also closes the connection.
        stream.pipeline(response.body, counter, () => undefined);
        return counter;
      } catch (error) {
        throw toRemoteError(error, what, transfer.signal);
      }
    },

    async stat(key): Promise<RemoteObject | null> {
      const what = `stat ${key}`;
      try {
        const entries = await propfind(checkKey(key), "0", what);
        const entry = entries?.find((e) => e.path === key);
        if (!entry || entry.collection) return null;
        return { key, size: entry.size, modifiedAt: entry.modifiedAt };
      } catch (error) {
        throw toRemoteError(error, what);
      }
    },

    async *list(prefix) {
      const what = `list ${prefix || "(all)"}`;
      checkPrefix(prefix);
      // Walks folders depth 1 at a time (many servers refuse Depth: infinity), from the deepest
      // folder the prefix names, and only into folders that can hold matching keys.
      const start = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
      const pending = [start];
      while (pending.length > 0) {
        const folder = pending.shift()!;
        let entries: Entry[] | null;
        try {
          entries = await propfind(folder, "1", what);
        } catch (error) {
          throw toRemoteError(error, what);
        }
        if (entries === null) continue;
        for (const entry of entries) {
          if (entry.path === folder) continue;
          if (entry.collection) {
            if (`${entry.path}/`.startsWith(prefix) || prefix.startsWith(`${entry.path}/`)) pending.push(entry.path);
          } else if (entry.path.startsWith(prefix)) {
            yield { key: entry.path, size: entry.size, modifiedAt: entry.modifiedAt };
          }
        }
      }
    },

    async delete(key) {
      const what = `delete ${key}`;
      try {
        await remove(checkKey(key), what);
      } catch (error) {
        throw toRemoteError(error, what);
      }
    },

    async close() {
      // The dispatcher is the process-wide outbound one (lib/net/outbound.ts): nothing of ours to release.
    },
  };
}
