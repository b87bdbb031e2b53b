import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { RemoteStoreError, type RemoteFailure, type RemoteObject, type RemoteStore, type TransferOptions } from "@/lib/offsite/store";
import { PARTIAL_MARK } from "@/lib/offsite/stores/folder";
import { BATCH_SAFE_PATH, hasExecutable, startSystemSftp, startSystemSftpBatch, type SystemSftp, type SystemSftpBatch } from "@/lib/offsite/stores/openssh";

export interface SftpStoreSettings {
  host: string;
  port: number;
  user: string;
  /** relative to the user's home, or absolute; "" is the home itself */
  folder: string;
  password?: string;
  private_key?: string;
  passphrase?: string;
  /** "SHA256:…" as `ssh-keygen -lf` prints it; null until the first successful connection pins it */
  host_key_fingerprint: string | null;
}

export interface SftpClientOptions {
  /**
   * The OpenSSH client that carries uploads (default: `ssh` on PATH); null, or a path that is not
   * there, uploads through ssh2 instead. Tests use it to prove the fallback.
   */
  sshBinary?: string | null;
  /**
   * OpenSSH's `sftp` for whole-file uploads with a key login (default: `sftp` on PATH); null
   * frames the writes in Node over `ssh -s sftp` instead.
   */
  sftpBinary?: string | null;
}

/** Which client carried the last upload: the system OpenSSH client or ssh2. */
export type UploadClient = "openssh" | "ssh2";

/** One upload's requests, through the system client or ssh2: write() keeps the same logic over both. */
interface Uploader {
  readonly client: UploadClient;
  readonly maxWrite: number;
  open(file: string, key: string): Promise<Buffer>;
  write(handle: Buffer, at: number, piece: Buffer): Promise<void>;
  fsync(handle: Buffer, key: string): Promise<void>;
  close(handle: Buffer, key: string): Promise<void>;
  rename(from: string, to: string, key: string): Promise<void>;
  /** Calls the listener when the connection carrying the upload drops; returns the unsubscribe. */
  onLost(listener: () => void): () => void;
  isLost(): boolean;
}

/** Requests in flight per transfer: loopback and long links alike stay busy without buffering a file. */
const IN_FLIGHT = 16;
/** Fallback request size when the server does not announce its limits (OpenSSH does: 255 KiB). */
const DEFAULT_CHUNK = 32 * 1024;
const MAX_CHUNK = 256 * 1024;
const CONNECT_TIMEOUT_MS = 20_000;
/** Bytes acknowledged between two fsyncs of an upload in progress (see flushWhileWriting). */
const FLUSH_STEP = 32 * 1024 * 1024;

// The SFTP status codes (draft-ietf-secsh-filexfer-02 §7) the server answers with.
const STATUS_NO_SUCH_FILE = 2;
const STATUS_PERMISSION_DENIED = 3;
const STATUS_NO_CONNECTION = 6;
const STATUS_CONNECTION_LOST = 7;

/** The host key's fingerprint as OpenSSH prints it (`ssh-keygen -lf`), what the page shows and pins. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${crypto.createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/**
 * An SFTP server (OpenSSH's sftp-server or any other) as a destination, over ssh2. The server's host
 * key is pinned: the first connection records its fingerprint (serverIdentity), every later one
 * must show the same key or is refused with "host-key-changed" before any byte is sent. Writes go
 * to a temporary name and are renamed once whole; reads and writes keep several requests in flight
 * (as OpenSSH's own sftp client does), so a transfer is not one round trip per chunk.
 */
export function createSftpStore(
  settings: SftpStoreSettings,
  clientOptions: SftpClientOptions = {},
): RemoteStore & { serverIdentity(): string | null; uploadClient(): UploadClient | null } {
  let session: Promise<{ client: Client; sftp: SFTPWrapper }> | null = null;
  let seenFingerprint: string | null = null;
  /** The host key blob behind seenFingerprint: what the system client is told to accept, and nothing else. */
  let seenHostKey: Buffer | null = null;
  let rejectedFingerprint: string | null = null;
  let connectionLost = false;
  /** Transfers waiting on the connection: told at once when it drops, since ssh2 may never answer their requests. */
  const onLost = new Set<() => void>();
  const lost = () => {
    connectionLost = true;
    session = null;
    for (const listener of onLost) listener();
  };
  const root = settings.folder.replace(/\/+$/, "") || ".";
  const remotePath = (key: string) => {
    if (key.split("/").includes("..")) throw new RemoteStoreError("refused", `The key '${key}' leads outside the destination folder`);
    return path.posix.join(root, key);
  };

  const connect = () =>
    new Promise<{ client: Client; sftp: SFTPWrapper }>((resolve, reject) => {
      const client = new Client();
      connectionLost = false;
      const config: ConnectConfig = {
        host: settings.host,
        port: settings.port,
        username: settings.user,
        readyTimeout: CONNECT_TIMEOUT_MS,
        // AES-GCM first: it runs in OpenSSL (AES-NI) through node:crypto, while ssh2's
        // chacha20-poly1305 needs its optional native addon, which an install without build
        // scripts lacks, and then falls back to a JavaScript Poly1305 several times slower
        // (measured with bench:offsite). The server still
        // picks from this list, so one that offers only chacha or CTR keeps working.
        algorithms: {
          cipher: ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr", "chacha20-poly1305@openssh.com"],
        },
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        hostVerifier: (key: Buffer) => {
          const fingerprint = hostKeyFingerprint(key);
          if (settings.host_key_fingerprint && fingerprint !== settings.host_key_fingerprint) {
            rejectedFingerprint = fingerprint;
            return false;
          }
          seenFingerprint = fingerprint;
          seenHostKey = Buffer.from(key);
          // An upload is coming (prepareUpload): the system client logs in with the key just checked
          // while ssh2 still authenticates and opens SFTP, instead of after (bench: ~170 ms less to
          // the first byte of a copy, at load 11).
          if (uploadsWanted) setImmediate(() => systemSession());
          return true;
        },
      };
      if (settings.private_key) {
        config.privateKey = settings.private_key;
        if (settings.passphrase) config.passphrase = settings.passphrase;
      }
      if (settings.password) config.password = settings.password;
      let ready = false;
      client.on("ready", () => {
        ready = true;
        client.sftp((error, sftp) => {
          if (error) {
            client.end();
            reject(describe(error, "opening the SFTP subsystem"));
          } else resolve({ client, sftp });
        });
      });
      client.on("error", (error) => {
        lost();
        if (!ready) reject(describe(error, `connecting to ${settings.host}:${settings.port}`));
      });
      client.on("close", lost);
      try {
        client.connect(config);
      } catch (error) {
        // ssh2 throws synchronously on a private key it cannot parse (or a wrong passphrase).
        reject(new RemoteStoreError("auth", `The private key cannot be used: ${(error as Error).message}`, { cause: error }));
      }
    });

  const openSession = async (): Promise<{ client: Client; sftp: SFTPWrapper }> => {
    session ??= connect();
    try {
      return await session;
    } catch (error) {
      session = null;
      throw error;
    }
  };
  const open = async (): Promise<SFTPWrapper> => (await openSession()).sftp;
  /** Whether the server hashes files for us (exec allowed, sha256sum or shasum there): unknown until tried once. */
  let serverHashes: boolean | null = null;
  const watchLost = (listener: () => void) => {
    onLost.add(listener);
    return () => onLost.delete(listener);
  };
  /**
   * The hash loop on the current connection (see openHashLoop), opened at the first upload, so that
   * its shell is up by the time the first file needs its proof: a session started only then took
   * 4–7 s on the loaded test machine, while the upload it waited behind was done.
   */
  let hashLoop: { client: Client; loop: Promise<HashLoop | null>; ready: HashLoop | null } | null = null;
  const startHashLoop = (client: Client) => {
    if (serverHashes === false || hashLoop?.client === client) return;
    const entry: NonNullable<typeof hashLoop> = { client, loop: openHashLoop(client, watchLost), ready: null };
    void entry.loop.then((loop) => (entry.ready = loop));
    hashLoop = entry;
  };
  /** The loop, waiting for it to open when the server is known to hash (else only if it is up already); null when there is none. */
  const hashLoopOf = async (client: Client): Promise<HashLoop | null> => {
    if (hashLoop?.client !== client) {
      if (serverHashes !== true) return null;
      hashLoop = null;
      startHashLoop(client);
    }
    const current = hashLoop!;
    const loop = serverHashes === true ? await current.loop : current.ready;
    // Closed (the server ended it, a timeout, an abort): the next call opens another.
    if (loop?.closed && hashLoop === current) hashLoop = null;
    return loop && !loop.closed ? loop : null;
  };

  function describe(error: unknown, doing: string): RemoteStoreError {
    if (error instanceof RemoteStoreError) return error;
    const err = error as Error & { code?: number | string; level?: string };
    if (rejectedFingerprint) {
      return new RemoteStoreError(
        "host-key-changed",
        `${settings.host}:${settings.port} showed host key ${rejectedFingerprint}, not the pinned ${settings.host_key_fingerprint}: refused (if the server was really re-keyed, pin the new key again)`,
        { cause: error },
      );
    }
    let reason: RemoteFailure = "refused";
    if (err.level === "client-authentication") reason = "auth";
    else if (err.level === "client-timeout" || err.level === "client-socket") reason = "unreachable";
    else if (typeof err.code === "string" && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)$/.test(err.code))
      reason = "unreachable";
    else if (err.code === STATUS_NO_SUCH_FILE) reason = "not-found";
    else if (err.code === STATUS_PERMISSION_DENIED) reason = "refused";
    else if (err.code === STATUS_NO_CONNECTION || err.code === STATUS_CONNECTION_LOST || connectionLost) reason = "unreachable";
    const words = reason === "auth" ? "the server refused the user name, password or key" : err.message;
    return new RemoteStoreError(reason, `${doing}: ${words}`, { cause: error });
  }

  const call = <T>(doing: string, run: (callback: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      try {
        run((error, value) => (error ? reject(describe(error, doing)) : resolve(value as T)));
      } catch (error) {
        reject(describe(error, doing));
      }
    });

  /** Folders seen or made on this connection's server: each file of a set goes to the same folder, which needs checking once. */
  const knownFolders = new Set<string>();
  const mkdirs = async (sftp: SFTPWrapper, folder: string) => {
    if (knownFolders.has(folder)) return;
    const isFolder = (prefix: string) =>
      call<{ isDirectory(): boolean }>(`stat ${prefix}`, (cb) => sftp.stat(prefix, cb)).then(
        (stats) => stats.isDirectory(),
        () => false,
      );
    // The folder itself first: one round trip when it is there already (every file after a set's first).
    if (!(await isFolder(folder))) {
      const parts = folder.split("/");
      for (let i = 1; i <= parts.length; i += 1) {
        const prefix = parts.slice(0, i).join("/");
        if (prefix === "" || prefix === ".") continue;
        if (!(await isFolder(prefix))) await call<void>(`mkdir ${prefix}`, (cb) => sftp.mkdir(prefix, { mode: 0o700 }, cb)).catch(() => undefined);
      }
    }
    knownFolders.add(folder);
  };

  /**
   * fsyncs of a file while another session uploads it, one at a time, each once FLUSH_STEP more
   * bytes were acknowledged. The server keeps an upload in its page cache until the fsync before the
   * rename (this machine starts writing back at 10% of its RAM), so that fsync wrote the whole file
   * while the link stood idle (350 MB: 0.7 s, a fifth of the upload); flushed as it grows, the disk
   * works while the bytes arrive and the last fsync has at most one step left. Best effort: where the
   * server lacks fsync@openssh.com or refuses, the final fsync does it all, as before.
   */
  const flushWhileWriting = (sftp: SFTPWrapper, file: string) => {
    // ssh2 may never answer a request once its connection dropped: nothing here waits past that.
    let unwatch = () => undefined as unknown;
    const gone = new Promise<null>((resolve) => (unwatch = watchLost(() => resolve(null))));
    const untilGone = <T>(work: Promise<T>) => (connectionLost ? Promise.resolve(null) : Promise.race([work, gone]));
    const opening = call<Buffer>(`open ${file}`, (cb) => sftp.open(file, "r+", cb)).catch(() => null);
    let flushedAt = 0;
    let running: Promise<void> | null = null;
    let stopped = false;
    let usable = true;
    const flush = async (upTo: number) => {
      const handle = await opening;
      if (!handle || stopped) return;
      await call<void>(`fsync ${file}`, (cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => (usable = false));
      flushedAt = upTo;
    };
    return {
      written(acked: number) {
        if (stopped || !usable || running || acked - flushedAt < FLUSH_STEP) return;
        running = flush(acked).finally(() => (running = null));
      },
      /**
       * Whether this session can take the file's last fsync (see fsync): its handle is open and its
       * fsyncs have not failed. Waits for the flush in progress, whose outcome says.
       */
      async canFsync(): Promise<boolean> {
        if (stopped) return false;
        await untilGone(running ?? Promise.resolve());
        return usable && !connectionLost && (await untilGone(opening)) !== null;
      },
      /**
       * The file's last fsync, on this session's handle, once every byte is acknowledged: the upload's
       * own session (whose server answers requests in order, so an fsync there holds up the writes
       * behind it) is free for the next file meanwhile. fsync makes the file's data durable whichever
       * descriptor wrote it. Best effort, as the fsync on the upload's handle was.
       */
      async fsync(): Promise<void> {
        const handle = await untilGone(opening);
        if (!handle || stopped) return;
        await untilGone(call<void>(`fsync ${file}`, (cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => undefined));
      },
      async end() {
        if (stopped) return;
        stopped = true;
        await untilGone(running ?? Promise.resolve());
        const handle = await untilGone(opening);
        if (handle) await untilGone(call<void>(`close ${file}`, (cb) => sftp.close(handle, cb)).catch(() => undefined));
        unwatch();
      },
    };
  };

  /** After a failed write: whether the remote filesystem has too little room left (OpenSSH reports ENOSPC only as "Failure"). */
  const isFull = async (sftp: SFTPWrapper, folder: string, needed: number): Promise<boolean> => {
    try {
      const info = await call<{ f_bavail: number; f_frsize: number; f_bsize: number }>("statvfs", (cb) => sftp.ext_openssh_statvfs(folder, cb));
      return info.f_bavail * (info.f_frsize || info.f_bsize) < Math.max(needed, 1);
    } catch {
      return false;
    }
  };

  const chunkSize = (sftp: SFTPWrapper, which: "_maxWriteLen" | "_maxReadLen") => {
    const announced = (sftp as unknown as Record<string, number | undefined>)[which];
    return Math.min(typeof announced === "number" && announced > 0 ? announced : DEFAULT_CHUNK, MAX_CHUNK);
  };

  let lastClient: UploadClient | null = null;
  /** Set by prepareUpload: the system client starts as soon as ssh2 has checked the host key. */
  let uploadsWanted = false;
  /** The system OpenSSH client's SFTP session for uploads (see openssh.ts); null while none is open. */
  let system: Promise<SystemSftp | SystemSftpBatch> | null = null;
  /**
   * Whether the system session is OpenSSH's `sftp -b` (files go whole, its C doing the reads and
   * writes) rather than our framing over `ssh -s sftp`: with a key login (no passphrase), where `sftp` is there.
   */
  const batchUploads = !!settings.private_key && !settings.passphrase && clientOptions.sftpBinary !== null && hasExecutable(clientOptions.sftpBinary ?? "sftp");
  /** Set once the system client could not be used with this server (not a changed key): ssh2 uploads from then on. */
  let systemUnusable =
    clientOptions.sshBinary === null || !hasExecutable(clientOptions.sshBinary ?? "ssh") || (!!settings.private_key && !!settings.passphrase);
  /**
   * Whether the running (or last) system session was held to the pinned fingerprint alone (started
   * before ssh2 saw the key) rather than to the key ssh2 checked; set false for good once such a
   * session failed, so the next one waits for ssh2's key.
   */
  let startedByFingerprint = false;
  let fingerprintStartUsable = true;

  /**
   * The system client's session, started if there is none (or the last one ended); null where ssh2
   * uploads. With a pin it starts at once, in parallel with ssh2's connection: `ssh` itself accepts
   * only the key with the pinned fingerprint (see pinnedByFingerprint in openssh.ts), so nothing waits
   * for ssh2's handshake (~45 ms to the first byte on a quiet machine, up to ~170 ms loaded, bench:offsite).
   * Without a pin (the first test) it waits for the key ssh2's hostVerifier saw and accepts that one only.
   */
  const systemSession = (): Promise<SystemSftp | SystemSftpBatch> | null => {
    if (systemUnusable) return null;
    if (system) return system;
    const byFingerprint = !seenHostKey && fingerprintStartUsable && !!settings.host_key_fingerprint;
    if (!seenHostKey && !byFingerprint) return null;
    startedByFingerprint = byFingerprint;
    const target = {
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password,
      private_key: settings.private_key,
      ...(byFingerprint ? { hostKeyFingerprint: settings.host_key_fingerprint! } : { hostKey: seenHostKey! }),
      sshBinary: clientOptions.sshBinary ?? undefined,
      sftpBinary: clientOptions.sftpBinary ?? undefined,
    };
    system = batchUploads ? startSystemSftpBatch(target) : startSystemSftp(target);
    // Awaited by the upload; until then a failure must not count as unhandled.
    system.catch(() => undefined);
    return system;
  };
  /**
   * The uploader for the next file: the system `ssh` when there is one and it logs in, else ssh2.
   * Called once ssh2's session is open, so ssh2 has checked the pin by then either way.
   */
  const uploader = async (sftp: SFTPWrapper, wholeFile: boolean): Promise<Uploader | SystemSftpBatch> => {
    const ssh2 = ssh2Uploader(sftp);
    // A streamed body (put: the probe object) cannot go through sftp's put: ssh2 takes it.
    if (batchUploads && !wholeFile) return ssh2;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const starting = systemSession();
      if (!starting) return ssh2;
      const byFingerprint = startedByFingerprint;
      try {
        const current = await starting;
        if (!current.closed) return "put" in current ? current : systemUploader(current);
        // Ended since (the server restarted, a network drop): one new session.
        if (system === starting) system = null;
      } catch (error) {
        if (system === starting) system = null;
        // Held to the fingerprint alone, ssh may have been shown another of the server's keys than
        // the one pinned (it asks for the types in its own order, ssh2 in its own): not a verdict.
        // The next session accepts exactly the key ssh2 has checked against the pin meanwhile.
        if (byFingerprint) {
          fingerprintStartUsable = false;
          continue;
        }
        // A key other than the one ssh2 just checked: refuse, as ssh2 would have.
        if (error instanceof RemoteStoreError && error.reason === "host-key-changed") throw error;
        systemUnusable = true;
        return ssh2;
      }
    }
    return ssh2;
  };

  const ssh2Uploader = (sftp: SFTPWrapper): Uploader => ({
    client: "ssh2",
    maxWrite: chunkSize(sftp, "_maxWriteLen"),
    open: (file, key) => call<Buffer>(`create ${key}`, (cb) => sftp.open(file, "w", { mode: 0o600 }, cb)),
    // ssh2 copies the piece into its request at once, so the caller may reuse the buffer.
    write: (handle, at, piece) => call<void>("write", (cb) => sftp.write(handle, piece, 0, piece.length, at, cb)),
    fsync: (handle, key) => call<void>(`fsync ${key}`, (cb) => sftp.ext_openssh_fsync(handle, cb)),
    close: (handle, key) => call<void>(`close ${key}`, (cb) => sftp.close(handle, cb)),
    rename: (from, to, key) => call<void>(`rename ${key}`, (cb) => sftp.ext_openssh_rename(from, to, cb)),
    onLost: (listener) => {
      onLost.add(listener);
      return () => onLost.delete(listener);
    },
    isLost: () => connectionLost,
  });

  const systemUploader = (client: SystemSftp): Uploader => {
    const mapped = <T>(doing: string, run: () => Promise<T>) => run().catch((error: unknown) => Promise.reject(describe(error, doing)));
    return {
      client: "openssh",
      maxWrite: client.maxWrite,
      open: (file, key) => mapped(`create ${key}`, () => client.open(file, 0o600)),
      write: (handle, at, piece) => client.write(handle, at, piece),
      fsync: (handle, key) => mapped(`fsync ${key}`, () => client.fsync(handle)),
      close: (handle, key) => mapped(`close ${key}`, () => client.close(handle)),
      rename: (from, to, key) => mapped(`rename ${key}`, () => client.rename(from, to)),
      onLost: (listener) => {
        // Either connection dropping ends the upload: the server died, or its ssh did.
        onLost.add(listener);
        const stop = client.onEnd(listener);
        return () => {
          onLost.delete(listener);
          stop();
        };
      },
      isLost: () => connectionLost || client.closed,
    };
  };

  /** What put and putFile share: `pieces` gives the bytes cut into requests of the size it is asked for. */
  async function write(key: string, pieces: (chunk: number) => AsyncIterable<Buffer>, size: number, options: TransferOptions): Promise<void> {
    const sftp = await open();
    const target = remotePath(key);
    const partial = `${target}${PARTIAL_MARK}${crypto.randomBytes(4).toString("hex")}`;
    await mkdirs(sftp, path.posix.dirname(target));
    const chosen = await uploader(sftp, false);
    if ("put" in chosen) throw new Error("unreachable: a streamed upload never goes through sftp batch");
    const up = chosen;
    startHashLoop((await openSession()).client);
    lastClient = up.client;
    const handle = await up.open(partial, key);
    // The system client's upload runs in a server process of its own: ssh2's SFTP session, idle
    // meanwhile, flushes the file to the server's disk as it grows (see flushWhileWriting).
    const flusher = up.client === "openssh" ? flushWhileWriting(sftp, partial) : null;
    let position = 0;
    let acked = 0;
    let inFlight = 0;
    let failure: unknown = null;
    /** The upload's handle is closed (or its close was sent): never closed twice. */
    let closed = false;
    let wake: (() => void) | null = null;
    const settle = () => {
      const resume = wake;
      wake = null;
      resume?.();
    };
    const slot = () => new Promise<void>((resolve) => (wake = resolve));
    const dropped = () => {
      failure ??= new RemoteStoreError("unreachable", `writing ${key}: the connection to ${settings.host}:${settings.port} was lost`);
      settle();
    };
    const unwatch = up.onLost(dropped);
    try {
      for await (const piece of pieces(up.maxWrite)) {
        while (inFlight >= IN_FLIGHT && !failure) await slot();
        if (failure) throw failure;
        options.signal?.throwIfAborted();
        const at = position;
        position += piece.length;
        inFlight += 1;
        up.write(handle, at, piece).then(
          () => {
            inFlight -= 1;
            acked += piece.length;
            flusher?.written(acked);
            options.onProgress?.(acked);
            settle();
          },
          (error: unknown) => {
            inFlight -= 1;
            failure ??= error;
            settle();
          },
        );
      }
      while (inFlight > 0) await slot();
      if (failure) throw failure;
      if (position !== size) throw new RemoteStoreError("refused", `${key}: ${position} bytes were read where ${size} were announced`);
      // On the server's disk before it takes the final name, where the server offers fsync. Where the
      // flusher's session can, it does that last fsync after the upload's handle is closed and the
      // link handed to the next file: the fsync ran with the link idle, once per file, and the five
      // of a set cost ~0.15 s of a 500 MB copy (bench:offsite, with and without fsync).
      const fsyncAfterClose = flusher !== null && (await flusher.canFsync());
      if (!fsyncAfterClose) await up.fsync(handle, key).catch(() => undefined);
      closed = true;
      await up.close(handle, key);
      if (fsyncAfterClose) {
        options.onSent?.();
        await flusher.fsync();
      }
      await flusher?.end();
      try {
        await up.rename(partial, target, key);
      } catch {
        // A server without posix-rename: the plain rename refuses to replace, so the old object goes first.
        await call<void>(`remove the old ${key}`, (cb) => sftp.unlink(target, cb)).catch(() => undefined);
        await call<void>(`rename ${key}`, (cb) => sftp.rename(partial, target, cb));
      }
    } catch (error) {
      await flusher?.end();
      while (inFlight > 0 && !up.isLost()) await slot();
      let described = error instanceof RemoteStoreError ? error : describe(error, `writing ${key}`);
      if (!up.isLost() && !closed) await up.close(handle, key).catch(() => undefined);
      if (!connectionLost) {
        if (described.reason === "refused" && (await isFull(sftp, path.posix.dirname(target), size - acked)))
          described = new RemoteStoreError("full", `writing ${key}: the remote disk is full (${acked} of ${size} bytes written)`, { cause: error });
        await call<void>("remove the partial upload", (cb) => sftp.unlink(partial, cb)).catch(() => undefined);
      }
      if ((error as Error).name === "AbortError") throw new RemoteStoreError("aborted", `writing ${key}: cancelled`, { cause: error });
      throw described;
    } finally {
      unwatch();
    }
  }

  /**
   * A whole local file through OpenSSH's `sftp -b` (see batchUploads); false when that session is not
   * to be had (the caller uploads otherwise). ssh2's session creates the partial file (0600), keeps
   * it open and, while sftp writes it, reads its size for progress and fsyncs it every FLUSH_STEP (as
   * flushWhileWriting does); once sftp has closed it, the last fsync, then the rename, both on ssh2.
   */
  async function putWhole(key: string, local: string, size: number, options: TransferOptions): Promise<boolean> {
    const sftp = await open();
    const target = remotePath(key);
    const partial = `${target}${PARTIAL_MARK}${crypto.randomBytes(4).toString("hex")}`;
    if (!BATCH_SAFE_PATH.test(local) || !BATCH_SAFE_PATH.test(partial)) return false;
    await mkdirs(sftp, path.posix.dirname(target));
    const chosen = await uploader(sftp, true);
    if (!("put" in chosen)) return false;
    const batch = chosen;
    startHashLoop((await openSession()).client);
    lastClient = "openssh";
    let unwatch = () => undefined as unknown;
    const gone = new Promise<null>((resolve) => (unwatch = watchLost(() => resolve(null))));
    const untilGone = <T>(work: Promise<T>) => (connectionLost ? Promise.resolve(null) : Promise.race([work, gone]));
    const handle = await call<Buffer>(`create ${key}`, (cb) => sftp.open(partial, "w", { mode: 0o600 }, cb));
    let written = 0;
    let flushedAt = 0;
    let polling = true;
    // Ends the poll's wait at once: the rename, and the proof after it, must not wait out an interval.
    let wake = () => undefined as unknown;
    const woken = new Promise<void>((resolve) => (wake = () => resolve()));
    const stopPolling = () => {
      polling = false;
      wake();
    };
    // Progress and the flushes, one request at a time, while sftp writes.
    const poll = (async () => {
      while (polling && !connectionLost) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, 100))), woken]);
        clearTimeout(timer);
        if (!polling) break;
        const stats = await untilGone(call<{ size: number }>(`stat ${key}`, (cb) => sftp.fstat(handle, cb)).catch(() => null));
        if (!stats || !polling) continue;
        if (stats.size > written) {
          written = stats.size;
          options.onProgress?.(Math.min(written, size));
        }
        if (written - flushedAt >= FLUSH_STEP) {
          const at = written;
          await untilGone(call<void>(`fsync ${key}`, (cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => undefined));
          flushedAt = at;
        }
      }
    })();
    const aborted = () => batch.kill();
    options.signal?.addEventListener("abort", aborted, { once: true });
    try {
      options.signal?.throwIfAborted();
      await batch.put(local, partial);
      stopPolling();
      // sftp has written and closed the file: the link is free for the next one while ssh2 checks
      // its size, makes it durable and names it (each a round trip that the link waited for before).
      // sftp's put succeeded only if the server acknowledged every write: all bytes are there.
      options.onProgress?.(size);
      options.onSent?.();
      await poll;
      const stats = await untilGone(call<{ size: number }>(`stat ${key}`, (cb) => sftp.fstat(handle, cb)));
      if (!stats) throw new RemoteStoreError("unreachable", `writing ${key}: the connection to ${settings.host}:${settings.port} was lost`);
      if (stats.size !== size) throw new RemoteStoreError("refused", `${key}: ${stats.size} bytes arrived where ${size} were announced`);
      await call<void>(`fsync ${key}`, (cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => undefined);
      await call<void>(`close ${key}`, (cb) => sftp.close(handle, cb));
      try {
        await call<void>(`rename ${key}`, (cb) => sftp.ext_openssh_rename(partial, target, cb));
      } catch {
        await call<void>(`remove the old ${key}`, (cb) => sftp.unlink(target, cb)).catch(() => undefined);
        await call<void>(`rename ${key}`, (cb) => sftp.rename(partial, target, cb));
      }
      return true;
    } catch (error) {
      stopPolling();
      await untilGone(poll);
      // sftp ends at a failed put: the next file gets a new session.
      if (batch.closed && system) system = null;
      let described = describe(error, `writing ${key}`);
      if (!connectionLost) {
        await untilGone(call<void>(`close ${key}`, (cb) => sftp.close(handle, cb)).catch(() => undefined));
        if (described.reason === "refused" && (await isFull(sftp, path.posix.dirname(target), size - written)))
          described = new RemoteStoreError("full", `writing ${key}: the remote disk is full (${written} of ${size} bytes written)`, { cause: error });
        await untilGone(call<void>("remove the partial upload", (cb) => sftp.unlink(partial, cb)).catch(() => undefined));
      }
      if (options.signal?.aborted) throw new RemoteStoreError("aborted", `writing ${key}: cancelled`, { cause: error });
      throw described;
    } finally {
      stopPolling();
      options.signal?.removeEventListener("abort", aborted);
      unwatch();
    }
  }

  return {
    serverIdentity: () => seenFingerprint,
    uploadClient: () => lastClient,

    prepareUpload(): void {
      // In the background, while the caller lists and stats: the system client's login and the
      // server's hash loop each take a second or more on a loaded machine.
      uploadsWanted = true;
      const uploads = systemSession();
      // The hash loop's shell only once the upload's session is up (or there is none): its login
      // competed with the system client's for the CPU, on the way to the first byte, while the first
      // proof is wanted only after the first file's upload.
      void openSession().then(
        ({ client }) => {
          systemSession();
          void (uploads ?? Promise.resolve()).catch(() => undefined).then(() => startHashLoop(client));
        },
        () => undefined,
      );
    },

    put(key: string, body: Readable, size: number, options: TransferOptions = {}): Promise<void> {
      return write(key, (chunk) => inPieces(body as AsyncIterable<Buffer>, chunk), size, options);
    },

    async putFile(key: string, file: string, size: number, options: TransferOptions = {}): Promise<void> {
      if (batchUploads && (await putWhole(key, file, size, options))) return;
      return write(key, (chunk) => filePieces(file, chunk, IN_FLIGHT), size, options);
    },

    async get(key: string, options: TransferOptions = {}): Promise<Readable> {
      const sftp = await open();
      const file = remotePath(key);
      const handle = await call<Buffer>(`open ${key}`, (cb) => sftp.open(file, "r", cb));
      const stats = await call<{ size: number }>(`stat ${key}`, (cb) => sftp.fstat(handle, cb));
      const reader = pipelinedReader(sftp, handle, stats.size, chunkSize(sftp, "_maxReadLen"), key, options, (error) => describe(error, `reading ${key}`));
      const dropped = () => reader.destroy(new RemoteStoreError("unreachable", `reading ${key}: the connection to ${settings.host}:${settings.port} was lost`));
      onLost.add(dropped);
      reader.once("close", () => onLost.delete(dropped));
      return reader;
    },

    async stat(key: string): Promise<RemoteObject | null> {
      const sftp = await open();
      try {
        const stats = await call<{ size: number; mtime: number; isFile(): boolean }>(`stat ${key}`, (cb) => sftp.stat(remotePath(key), cb));
        return stats.isFile() ? { key, size: stats.size, modifiedAt: new Date(stats.mtime * 1000).toISOString() } : null;
      } catch (error) {
        if (error instanceof RemoteStoreError && error.reason === "not-found") return null;
        throw error;
      }
    },

    async *list(prefix: string): AsyncIterable<RemoteObject> {
      const sftp = await open();
      const walk = async function* (relative: string): AsyncGenerator<RemoteObject> {
        let entries: { filename: string; attrs: { size: number; mtime: number; isDirectory(): boolean; isFile(): boolean } }[];
        try {
          entries = await call(`list ${relative || root}`, (cb) => sftp.readdir(relative ? path.posix.join(root, relative) : root, cb));
        } catch (error) {
          if (error instanceof RemoteStoreError && error.reason === "not-found") return;
          throw error;
        }
        for (const entry of entries) {
          if (entry.filename === "." || entry.filename === "..") continue;
          const key = relative ? `${relative}/${entry.filename}` : entry.filename;
          if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
          if (entry.attrs.isDirectory()) yield* walk(key);
          else if (entry.attrs.isFile()) yield { key, size: entry.attrs.size, modifiedAt: new Date(entry.attrs.mtime * 1000).toISOString() };
        }
      };
      yield* walk("");
    },

    async delete(key: string): Promise<void> {
      const sftp = await open();
      const file = remotePath(key);
      try {
        await call<void>(`delete ${key}`, (cb) => sftp.unlink(file, cb));
      } catch (error) {
        if (!(error instanceof RemoteStoreError && error.reason === "not-found")) throw error;
      }
      // An emptied set folder goes too; rmdir refuses a folder still holding anything, which is what we want.
      const folder = path.posix.dirname(file);
      knownFolders.delete(folder);
      if (folder !== root) await call<void>("rmdir", (cb) => sftp.rmdir(folder, cb)).catch(() => undefined);
    },

    async serverSha256(key: string, size: number, options: { signal?: AbortSignal } = {}): Promise<string | null> {
      if (serverHashes === false) return null;
      const file = remotePath(key);
      const { client } = await openSession();
      // Generous: the server reads the file from its own disk; a server slower than 10 MB/s is better read back.
      const timeoutMs = 60_000 + size / 10_000;
      try {
        // One long-lived loop hashes the files instead of an exec each, once it is up (see startHashLoop).
        const loop = !file.includes("\n") ? await hashLoopOf(client) : null;
        const answer = loop ? await loop.hash(file, timeoutMs, options.signal) : undefined;
        if (answer !== undefined) {
          serverHashes = answer !== null;
          return answer;
        }
        const sha256 = await execSha256(client, file, timeoutMs, options.signal, watchLost);
        serverHashes = sha256 !== null;
        if (sha256 !== null) startHashLoop(client);
        return sha256;
      } catch (error) {
        throw describe(error, `sha256sum of ${key} on the server`);
      }
    },

    async close(): Promise<void> {
      const uploads = system;
      system = null;
      if (uploads) await (await uploads.catch(() => null))?.end();
      const current = session;
      session = null;
      if (!current) return;
      try {
        (await current).client.end();
      } catch {
        // never connected: nothing to release
      }
    },
  };
}

/** A path as one POSIX shell word: single-quoted, each ' written as '\''. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

const SHA256_LINE = /^\\?([0-9a-f]{64}) /;

/**
 * Runs `openssl dgst -sha256`, else `sha256sum` (GNU coreutils, busybox), else `shasum -a 256` (BSD, macOS) on the server over
 * the SSH connection already open, and answers the hash it prints: computed there, from the bytes on
 * the server's disk, so it proves the upload without moving them back. null when the server does not
 * offer it: exec refused (ForceCommand internal-sftp, a restricted shell), no such tool, a non-POSIX
 * shell, an answer that is not a hash, or no answer in time. Rejects only when the connection drops
 * or the signal aborts (the caller retries or stops, as for any transfer).
 */
function execSha256(
  client: Client,
  file: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  watchLost: (listener: () => void) => () => void,
): Promise<string | null> {
  const quoted = shellQuote(file);
  // OpenSSL first where the server has it: it uses the CPU's SHA extensions, ~4x GNU sha256sum's
  // speed on this machine (1.4 GB/s against 330 MB/s), and the hash is what holds up a copy's end.
  // `-r` prints "<hash> *<file>" as sha256sum does. `--` ends the options, so a path starting with
  // "-" is a path; stderr is dropped, the exit status decides.
  const command = [`openssl dgst -sha256 -r -- ${quoted} 2>/dev/null`, `sha256sum -- ${quoted} 2>/dev/null`, `shasum -a 256 -- ${quoted} 2>/dev/null`].join(
    " || ",
  );
  return new Promise<string | null>((resolve, reject) => {
    let settled = false;
    let channel: ClientChannel | null = null;
    const finish = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unwatch();
      signal?.removeEventListener("abort", aborted);
      outcome();
    };
    const timer = setTimeout(
      () =>
        finish(() => {
          channel?.close();
          resolve(null);
        }),
      timeoutMs,
    );
    const unwatch = watchLost(() => finish(() => reject(new Error("the connection was lost while the server hashed the file"))));
    const aborted = () =>
      finish(() => {
        channel?.close();
        reject(new RemoteStoreError("aborted", "aborted"));
      });
    signal?.addEventListener("abort", aborted, { once: true });
    if (signal?.aborted) return aborted();
    client.exec(command, (error, stream) => {
      // The server refused the exec request (e.g. no shell for this user): not offered.
      if (error) return finish(() => resolve(null));
      channel = stream;
      let out = "";
      stream.on("data", (chunk: Buffer) => {
        if (out.length < 4096) out += chunk.toString("latin1");
      });
      stream.stderr.resume();
      // No input: a ForceCommand internal-sftp in place of the command reads EOF and ends.
      stream.end();
      stream.on("close", (code: number | null) => {
        const match = SHA256_LINE.exec(out);
        finish(() => resolve(code === 0 && match ? match[1]! : null));
      });
    });
  });
}

/**
 * The body cut into requests of exactly `size` bytes (the last one shorter). A file stream yields
 * 64 KiB at a time; sent as they come, those are a quarter of what one SFTP write may carry, and
 * the upload spends its time on per-request overhead (measured: 350 MB in 8.3 s as 64 KiB writes,
 * 4.9 s as 255 KiB ones).
 */
export async function* inPieces(body: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of body) {
    let rest = data;
    if (length > 0) {
      const head = rest.subarray(0, size - length);
      parts.push(head);
      length += head.length;
      rest = rest.subarray(head.length);
      if (length < size) continue;
      yield Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
    for (; rest.length >= size; rest = rest.subarray(size)) yield rest.subarray(0, size);
    if (rest.length > 0) {
      parts = [rest];
      length = rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

/**
 * A local file cut into requests of exactly `size` bytes (the last one shorter), read `count` requests
 * at a time into one buffer that every read reuses. Safe because each piece is copied into its SFTP
 * request when written (ssh2's write copies at once, and a piece never exceeds the server's limit, so
 * ssh2 never comes back to it) before the loop asks for the next. A stream of the file
 * (fs.createReadStream) hands out a new buffer per read instead: every 64 MB of those made V8 run a
 * full garbage collection, and the upload cost a third more client CPU (a 350 MB file to the loopback
 * sshd: 2.1 s against 1.4 s, same load).
 */
export async function* filePieces(file: string, size: number, count: number): AsyncGenerator<Buffer> {
  const handle = await fs.promises.open(file, "r");
  try {
    const buffer = Buffer.allocUnsafeSlow(size * count);
    for (;;) {
      let filled = 0;
      while (filled < buffer.length) {
        const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      for (let at = 0; at < filled; at += size) yield buffer.subarray(at, Math.min(at + size, filled));
      if (filled < buffer.length) return;
    }
  } finally {
    await handle.close();
  }
}

/** One file name a line in, one `sha256sum`-style line out, for as long as the channel stays open. */
const HASH_LOOP_COMMAND = `while IFS= read -r f; do ${[`openssl dgst -sha256 -r -- "$f"`, `sha256sum -- "$f"`, `shasum -a 256 -- "$f"`]
  .map((command) => `${command} 2>/dev/null`)
  .join(" || ")} || echo -; done`;

/** The loop's first line: proof that a shell runs it (a ForceCommand internal-sftp in its place prints nothing). */
const HASH_LOOP_READY = "mimir-hash-loop-ready";

/**
 * A shell loop on the server that hashes each file named on its input, as execSha256 does, on one
 * channel kept open for the whole copy: a session costs sshd a fork and a login shell (0.1–0.6 s on
 * the loaded test machine, several seconds at load 12), which per file was as long as hashing it.
 * Requests go one at a time, so each output line answers the request in flight. It counts as open
 * only once its first line (HASH_LOOP_READY) came: a server that allows SFTP alone runs
 * internal-sftp instead, which waits for SFTP packets, never gets a byte from us, and is never used.
 */
interface HashLoop {
  /** The sha256, null when the server answered without one (no tool, no file), undefined when the loop is gone (the caller falls back to execSha256). */
  hash(file: string, timeoutMs: number, signal?: AbortSignal): Promise<string | null | undefined>;
  readonly closed: boolean;
}

function openHashLoop(client: Client, watchLost: (listener: () => void) => () => void): Promise<HashLoop | null> {
  return new Promise((resolve) => {
    client.exec(`echo ${HASH_LOOP_READY}; ${HASH_LOOP_COMMAND}`, (error, channel) => {
      if (error) return resolve(null);
      let opened = false;
      let closed = false;
      let buffered = "";
      let answer: ((line: string | undefined) => void) | null = null;
      let turn: Promise<unknown> = Promise.resolve();
      channel.stderr.resume();
      channel.on("data", (chunk: Buffer) => {
        buffered += chunk.toString("latin1");
        const end = buffered.indexOf("\n");
        if (end < 0) return;
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        if (opened) return answer?.(line);
        opened = true;
        if (line === HASH_LOOP_READY) return resolve(loop);
        channel.close();
        resolve(null);
      });
      channel.on("close", () => {
        closed = true;
        answer?.(undefined);
        if (!opened) resolve(null);
      });
      const ask = (file: string, timeoutMs: number, signal?: AbortSignal) =>
        new Promise<string | null | undefined>((resolveHash, rejectHash) => {
          if (closed) return resolveHash(undefined);
          const done = () => {
            answer = null;
            clearTimeout(timer);
            unwatch();
            signal?.removeEventListener("abort", aborted);
          };
          // A hash that does not come in time, or a cancel: the loop is closed (its shell may still be
          // reading the file) and the next file gets a new one.
          const timer = setTimeout(() => {
            done();
            channel.close();
            resolveHash(null);
          }, timeoutMs);
          const unwatch = watchLost(() => {
            done();
            rejectHash(new Error("the connection was lost while the server hashed the file"));
          });
          const aborted = () => {
            done();
            channel.close();
            rejectHash(new RemoteStoreError("aborted", "aborted"));
          };
          signal?.addEventListener("abort", aborted, { once: true });
          answer = (line) => {
            done();
            if (line === undefined) return resolveHash(undefined);
            resolveHash(SHA256_LINE.exec(`${line} `)?.[1] ?? null);
          };
          channel.write(`${file}\n`);
        });
      const loop: HashLoop = {
        get closed() {
          return closed;
        },
        hash(file, timeoutMs, signal) {
          const result = turn.then(() => ask(file, timeoutMs, signal));
          turn = result.catch(() => undefined);
          return result;
        },
      };
    });
  });
}

/** A Readable over a remote file that keeps IN_FLIGHT read requests outstanding and emits their data in order. */
function pipelinedReader(
  sftp: SFTPWrapper,
  handle: Buffer,
  size: number,
  chunk: number,
  key: string,
  options: TransferOptions,
  describe: (error: unknown) => RemoteStoreError,
): Readable {
  let next = 0;
  let emitted = 0;
  const queue: Promise<Buffer>[] = [];
  let waiting = false;
  let closed = false;

  /** Reads [start, start+length) whole, looping over short reads. */
  const readRange = (start: number, length: number): Promise<Buffer> =>
    new Promise<Buffer>((resolve, reject) => {
      const buffer = Buffer.allocUnsafe(length);
      const step = (filled: number) => {
        sftp.read(handle, buffer, filled, length - filled, start + filled, (error, bytesRead) => {
          if (error) return reject(error);
          if (bytesRead === 0) return resolve(buffer.subarray(0, filled)); // the file ended early: the size check says so
          if (filled + bytesRead < length) return step(filled + bytesRead);
          resolve(buffer);
        });
      };
      step(0);
    });

  const finish = () => {
    if (closed) return;
    closed = true;
    sftp.close(handle, () => undefined);
  };

  const pump = () => {
    while (queue.length < IN_FLIGHT && next < size) {
      const length = Math.min(chunk, size - next);
      const pending = readRange(next, length);
      pending.catch(() => undefined);
      queue.push(pending);
      next += length;
    }
    if (waiting) return;
    const head = queue.shift();
    if (!head) {
      finish();
      stream.push(null);
      return;
    }
    waiting = true;
    head.then(
      (data) => {
        waiting = false;
        emitted += data.length;
        options.onProgress?.(emitted);
        if (data.length === 0 || (next >= size && queue.length === 0)) {
          if (data.length > 0) stream.push(data);
          finish();
          stream.push(null);
          return;
        }
        if (stream.push(data)) pump();
      },
      (error) => {
        waiting = false;
        finish();
        stream.destroy(describe(error));
      },
    );
  };

  const stream: Readable = new Readable({
    highWaterMark: chunk * 2,
    read: pump,
    destroy(error, callback) {
      finish();
      callback(error);
    },
  });
  const aborted = () => stream.destroy(new RemoteStoreError("aborted", `reading ${key}: cancelled`));
  options.signal?.addEventListener("abort", aborted, { once: true });
  // The copy's signal outlives this read (one per file proven by reading back): its listener must not.
  stream.once("close", () => options.signal?.removeEventListener("abort", aborted));
  return stream;
}
