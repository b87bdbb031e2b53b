import "server-only";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import { RemoteStoreError } from "@/lib/offsite/store";

/**
 * SFTP over the system's OpenSSH client (`ssh -s sftp`), for bulk uploads. ssh2 implements SSH in
 * JavaScript: every byte is copied into an SFTP request, again into an SSH packet, and encrypted
 * in a new buffer, all on the event loop, which cost twice scp's client CPU. The fastest SFTP
 * tools (restic, rsync, borg) do not implement SSH: they run `ssh` and speak SFTP over its pipes,
 * so the crypto runs in OpenSSH's C. This module does the same for the few requests an upload
 * needs (open, write, fsync, close, posix-rename); ssh2 stays for the rest and as the fallback.
 *
 * Guarantees kept from the ssh2 path:
 * - The host key stays pinned: the caller hands over the key ssh2 already checked against the pin,
 *   written to a private known_hosts with StrictHostKeyChecking=yes, so `ssh` refuses any other key.
 * - Secrets never reach a command line, the environment or the disk: a password goes through
 *   SSH_ASKPASS reading a FIFO (kernel memory) in a 0700 folder; a private key is signed with by
 *   an agent in this process (serveKey) on a socket there; both are torn down as soon as the login
 *   succeeded (or failed), the folder when the session ends.
 * - `-F /dev/null`: the user's ~/.ssh/config changes nothing.
 */

export interface SystemSshTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  private_key?: string;
  /**
   * What `ssh` accepts, one of the two: the server's host key blob (SSH wire format), as ssh2's
   * hostVerifier was given it after checking the pin; or the pinned fingerprint itself ("SHA256:…"),
   * which `ssh` checks on its own (see pinnedByFingerprint), so it needs no earlier connection.
   */
  hostKey?: Buffer;
  hostKeyFingerprint?: string;
  /** the `ssh` binary; a test points it somewhere else to prove the fallback */
  sshBinary?: string;
  /** the `sftp` binary (startSystemSftpBatch) */
  sftpBinary?: string;
}

// SFTP v3 (draft-ietf-secsh-filexfer-02) packet types and open flags.
const FXP_INIT = 1;
const FXP_VERSION = 2;
const FXP_OPEN = 3;
const FXP_CLOSE = 4;
const FXP_WRITE = 6;
const FXP_STATUS = 101;
const FXP_HANDLE = 102;
const FXP_EXTENDED = 200;
const FXP_EXTENDED_REPLY = 201;
const FXF_WRITE = 0x02;
const FXF_CREAT = 0x08;
const FXF_TRUNC = 0x10;
const ATTR_PERMISSIONS = 0x04;
const STATUS_OK = 0;
/** The request size when the server announces no limits (what every SFTP server must accept). */
const DEFAULT_WRITE = 32 * 1024;
const MAX_WRITE = 255 * 1024;
/** A reply larger than this is not SFTP from a server we talk to: the stream is out of step. */
const MAX_REPLY = 256 * 1024;
const CONNECT_TIMEOUT_S = 20;
/** A WRITE packet of the largest request with a handle of up to 256 bytes fits one pooled buffer. */
const PACKET_BUFFER = MAX_WRITE + 4 + 1 + 4 + 4 + 256 + 8 + 4;
/** More than the requests an upload keeps in flight, fewer than would hold memory for nothing. */
const MAX_POOLED = 32;
const SETUP_TIMEOUT_MS = 30_000;

/** An SFTP status other than OK, with its code, as ssh2 reports them (so the store maps both alike). */
export class SftpStatusError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "SftpStatusError";
  }
}

/** Whether an executable named `name` is on PATH (or is itself an executable path). */
export function hasExecutable(name: string): boolean {
  const candidates = name.includes("/") ? [name] : (process.env.PATH ?? "").split(":").map((dir) => path.join(dir || ".", name));
  return candidates.some((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** The key type named at the start of an SSH public key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"). */
function keyType(blob: Buffer): string {
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** The algorithms that prove a key of this type (an RSA key signs with SHA-2 today, never SHA-1 by default). */
function hostKeyAlgorithms(type: string): string {
  return type === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256" : type;
}

/**
 * AES-GCM first, as ssh2 asks: with AES-NI it is the cheapest cipher on both ends (OpenSSH's own
 * default puts chacha20-poly1305 first). Exported for bench:offsite, whose `scp` uses the same list.
 */
export const UPLOAD_CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr";

/** The alias the private known_hosts names the server by: one line, whatever the host's spelling (IPv6, a port). */
const HOST_ALIAS = "mimir-destination";

/** A fingerprint as hostKeyFingerprint (sftp.ts) writes it: SHA-256, unpadded base64. Anything else is not put in a script. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/**
 * ssh options that make `ssh` accept exactly the host key whose fingerprint is `fingerprint`,
 * checked by ssh itself during the key exchange, before it authenticates or sends a byte. The
 * stored pin is a fingerprint, not a key, so no known_hosts line can be written ahead; OpenSSH
 * (8.5+) asks a KnownHostsCommand for lines once it has the server's key, passing the key's
 * fingerprint (%f), type (%t) and blob (%K): our script answers with a line for that key only when
 * the fingerprint is the pinned one, and with nothing otherwise, so StrictHostKeyChecking refuses it.
 * Before the key exchange ssh asks once more with no key ("NONE"): nothing matches then either.
 * null when the fingerprint or the folder cannot be written into the script or option safely.
 */
function pinnedByFingerprint(dir: string, fingerprint: string): string[] | null {
  if (!FINGERPRINT.test(fingerprint) || !/^[A-Za-z0-9/._-]+$/.test(dir)) return null;
  const script = path.join(dir, "known-host");
  fs.writeFileSync(script, `#!/bin/sh\n[ "$1" = '${fingerprint}' ] && [ -n "$3" ] && printf '%s %s %s\\n' ${HOST_ALIAS} "$2" "$3"\nexit 0\n`, { mode: 0o700 });
  return ["-o", `KnownHostsCommand=${script} %f %t %K`, "-o", "UserKnownHostsFile=/dev/null"];
}

type Pending = { resolve: (reply: Buffer) => void; reject: (error: Error) => void };

/** One `ssh -s sftp` child and the SFTP requests in flight over its pipes. */
export interface SystemSftp {
  /** the largest write the server accepts (limits@openssh.com), else the protocol's floor */
  readonly maxWrite: number;
  readonly closed: boolean;
  open(file: string, mode: number): Promise<Buffer>;
  /** Sends one write; `data` is copied before this returns, so the caller may reuse it at once. */
  write(handle: Buffer, offset: number, data: Buffer): Promise<void>;
  fsync(handle: Buffer): Promise<void>;
  close(handle: Buffer): Promise<void>;
  /** posix-rename@openssh.com: replaces `to` atomically; rejects when the server lacks it. */
  rename(from: string, to: string): Promise<void>;
  /** Calls `listener` when the child ends (killed, the connection dropped): every request in flight has failed by then. */
  onEnd(listener: (error: Error) => void): () => void;
  end(): Promise<void>;
}

/**
 * Starts `ssh -s sftp` to the target with the pinned host key and the given credentials; resolves
 * once the server answered SFTP's INIT. Rejects with a RemoteStoreError: "host-key-changed" when
 * `ssh` saw another key, "auth" when the server refused the credentials, "unreachable" otherwise.
 */
export function startSystemSftp(target: SystemSshTarget): Promise<SystemSftp> {
  return startSystem(target, "frames") as Promise<SystemSftp>;
}

/**
 * OpenSSH's own `sftp` client in batch mode (`sftp -b -`), logged in as startSystemSftp does, for
 * whole-file uploads: its C reads the file and frames the writes, where the framing in Node (above)
 * cost ~0.5 s of CPU more per 500 MB than scp's (bench:offsite, OFFSITE_BENCH_CPU=1), on a machine
 * whose cores the copy shares with sshd and the server's hash. Key logins only: `-b` turns on
 * BatchMode, which refuses password prompts (a password login keeps the framing client).
 */
export function startSystemSftpBatch(target: SystemSshTarget): Promise<SystemSftpBatch> {
  return startSystem(target, "batch") as Promise<SystemSftpBatch>;
}

/** One `sftp -b -` child: puts run one at a time, in the order asked. */
export interface SystemSftpBatch {
  readonly closed: boolean;
  /**
   * Uploads the local file to `remote` (which must exist: the caller creates it, so its mode is the
   * caller's). Resolves when sftp has written and closed it; rejects with an SftpStatusError
   * (status 4, "failure", with sftp's words) when sftp reports a failed put, or with the session's
   * end. sftp stops at a failure in batch mode: the session is closed after any rejection.
   */
  put(local: string, remote: string): Promise<void>;
  /** Kills the child (a cancelled copy): the put in progress rejects. */
  kill(): void;
  onEnd(listener: (error: Error) => void): () => void;
  end(): Promise<void>;
}

/**
 * What a path in an sftp batch command may hold: no glob, quote, escape or space characters (sftp
 * globs and splits them), no "~" (sftp may expand it where ssh2 does not), no leading "-" (a flag).
 */
export const BATCH_SAFE_PATH = /^[A-Za-z0-9/._@+,=:][A-Za-z0-9/._@+,=:-]*$/;

async function startSystem(target: SystemSshTarget, mode: "frames" | "batch"): Promise<SystemSftp | SystemSftpBatch> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-ssh-"));
  fs.chmodSync(dir, 0o700);
  const cleanups: (() => void)[] = [() => fs.rmSync(dir, { recursive: true, force: true })];
  /** What only the login needs (the agent holding the key, the password FIFO): gone as soon as SFTP answers. */
  const credentials: (() => void)[] = [];
  const run = (steps: (() => void)[]) => {
    for (const step of steps.splice(0).reverse()) {
      try {
        step();
      } catch {
        // best effort: a folder already gone, a process already dead
      }
    }
  };
  const cleanup = () => {
    run(credentials);
    run(cleanups);
  };
  try {
    // The host key ssh accepts: the blob ssh2 checked (written as the only known_hosts line, its
    // type the only one ssh asks for), else the pinned fingerprint, checked by ssh itself.
    let hostKeyOptions: string[] | null = null;
    if (target.hostKey) {
      const type = keyType(target.hostKey);
      const knownHosts = path.join(dir, "known_hosts");
      fs.writeFileSync(knownHosts, `${HOST_ALIAS} ${type} ${target.hostKey.toString("base64")}\n`, { mode: 0o600 });
      hostKeyOptions = ["-o", `UserKnownHostsFile=${knownHosts}`, "-o", `HostKeyAlgorithms=${hostKeyAlgorithms(type)}`];
    } else if (target.hostKeyFingerprint) {
      hostKeyOptions = pinnedByFingerprint(dir, target.hostKeyFingerprint);
    }
    if (!hostKeyOptions) throw new RemoteStoreError("refused", "no host key to hold the system ssh client to");
    // A bare environment: no SSH_AUTH_SOCK, SSH_ASKPASS or HOME of the operator's leaks in (HOME is
    // our folder, so ~/.ssh is empty); PATH alone passes through, to find the OpenSSH tools.
    const env = { PATH: process.env.PATH, HOME: dir, LANG: "C", LC_ALL: "C" } as unknown as NodeJS.ProcessEnv;
    const options = [
      "-F",
      "/dev/null",
      "-o",
      `HostKeyAlias=${HOST_ALIAS}`,
      ...hostKeyOptions,
      "-o",
      "GlobalKnownHostsFile=/dev/null",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      "UpdateHostKeys=no",
      "-o",
      "CheckHostIP=no",
      "-o",
      `ConnectTimeout=${CONNECT_TIMEOUT_S}`,
      "-o",
      "ServerAliveInterval=15",
      "-o",
      "ServerAliveCountMax=4",
      "-o",
      "Compression=no",
      "-o",
      `Ciphers=${UPLOAD_CIPHERS}`,
      "-o",
      "ControlMaster=no",
      "-o",
      "ControlPath=none",
      "-o",
      "ForwardAgent=no",
      "-o",
      "ForwardX11=no",
      "-o",
      "ClearAllForwardings=yes",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "IdentitiesOnly=yes",
      "-p",
      String(target.port),
      "-l",
      target.user,
    ];
    if (target.private_key) {
      // (ssh2 through its default export: a CommonJS module whose `utils` a named ESM import cannot see.)
      const parsed = ssh2.utils.parseKey(target.private_key);
      if (parsed instanceof Error || Array.isArray(parsed)) throw new RemoteStoreError("auth", "the private key cannot be read");
      if (!signsFor(parsed)) throw new RemoteStoreError("auth", `the system ssh client cannot log in with a ${parsed.type} key here`);
      // The key goes to an agent of our own, in this process, never to a file: ssh signs through it.
      const socket = path.join(dir, "agent.sock");
      const agent = await serveKey(socket, parsed);
      credentials.push(() => agent.close());
      const publicKey = `${keyType(parsed.getPublicSSH())} ${parsed.getPublicSSH().toString("base64")}`;
      // IdentitiesOnly with the public half as IdentityFile: ssh offers exactly this key, signed by the agent.
      const publicFile = path.join(dir, "id.pub");
      fs.writeFileSync(publicFile, `${publicKey}\n`, { mode: 0o600 });
      env.SSH_AUTH_SOCK = socket;
      options.push("-o", `IdentityAgent=${socket}`, "-o", `IdentityFile=${publicFile}`, "-o", "PreferredAuthentications=publickey", "-o", "BatchMode=yes");
    } else if (target.password !== undefined) {
      // SSH_ASKPASS reads the password from a FIFO we hold open: it lives in the kernel's pipe buffer only.
      const fifo = path.join(dir, "secret");
      if (spawnSync("mkfifo", ["-m", "600", fifo]).status !== 0) throw new RemoteStoreError("refused", "mkfifo failed");
      const askpass = path.join(dir, "askpass");
      fs.writeFileSync(askpass, `#!/bin/sh\nIFS= read -r line < '${fifo}' && printf '%s\\n' "$line"\n`, { mode: 0o700 });
      const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      credentials.push(
        () => fs.closeSync(fd),
        () => fs.rmSync(fifo, { force: true }),
      );
      fs.writeSync(fd, `${target.password}\n`);
      Object.assign(env, { SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: "none" });
      // No BatchMode: it turns password authentication off. One prompt: a wrong password fails at once
      // (a second askpass would wait on the emptied FIFO). "password" only, the method ssh2 logs in with.
      options.push("-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1", "-o", "PubkeyAuthentication=no", "-o", "IdentityAgent=none");
    } else {
      throw new RemoteStoreError("auth", "no password or private key to log in with");
    }
    if (mode === "batch") {
      if (!target.private_key) throw new RemoteStoreError("refused", "sftp batch mode logs in with a key only");
      // sftp names the port -P and passes every -o to ssh; the host goes as HostName so that sftp's
      // "host:path" parsing never sees it (IPv6), the alias being what known_hosts names anyway.
      const at = options.indexOf("-p");
      const sftpOptions = [
        ...options.slice(0, at),
        ...options.slice(at + 4),
        "-P",
        String(target.port),
        "-o",
        `User=${target.user}`,
        "-o",
        `HostName=${target.host}`,
      ];
      const child = spawn(target.sftpBinary ?? "sftp", [...(target.sshBinary ? ["-S", target.sshBinary] : []), ...sftpOptions, "-b", "-", HOST_ALIAS], {
        stdio: ["pipe", "pipe", "pipe"],
        env,
        cwd: dir,
        detached: false,
      });
      const batch = sftpBatchOverChild(child, dir, () => cleanup());
      await batch.ready;
      run(credentials);
      return batch.api;
    }
    const child = spawn(target.sshBinary ?? "ssh", [...options, "-s", "-T", target.host, "sftp"], {
      stdio: ["pipe", "pipe", "pipe"],
      env,
      detached: false,
    });
    const session = sftpOverChild(child, () => cleanup());
    await session.ready;
    // Logged in: the key or password is not needed again (a rekey re-checks the host key, kept in
    // known_hosts until the end, but never logs in again).
    run(credentials);
    return session.api;
  } catch (error) {
    cleanup();
    throw error;
  }
}

/** Ends an OpenSSH client the way it expects, by closing its input; killed if it has not ended 5 s later. */
async function endChild(child: ChildProcessWithoutNullStreams): Promise<void> {
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await closed;
  clearTimeout(timer);
}

/** The key types serveKey signs for (DSA keys: OpenSSH itself no longer takes them). */
function signsFor(key: ssh2.ParsedKey): boolean {
  return key.type === "ssh-ed25519" || key.type === "ssh-rsa" || key.type in ECDSA_HASH;
}

/** The hash each ECDSA curve signs with (RFC 5656 §6.2.1). */
const ECDSA_HASH: Record<string, string> = { "ecdsa-sha2-nistp256": "sha256", "ecdsa-sha2-nistp384": "sha384", "ecdsa-sha2-nistp521": "sha512" };

/** An SSH mpint (RFC 4251 §5) of an unsigned big-endian number, with its length. */
function mpint(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start += 1;
  const magnitude = bytes.subarray(start);
  return wireString(magnitude[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

/** SSH agent protocol (draft-miller-ssh-agent) messages and flags, as much as a login needs. */
const AGENT_FAILURE = 5;
const AGENTC_REQUEST_IDENTITIES = 11;
const AGENT_IDENTITIES_ANSWER = 12;
const AGENTC_SIGN_REQUEST = 13;
const AGENT_SIGN_RESPONSE = 14;
const AGENT_RSA_SHA2_256 = 2;
const AGENT_RSA_SHA2_512 = 4;

/** An SSH wire `string`: its length, then its bytes. */
function wireString(bytes: Buffer | string): Buffer {
  const body = Buffer.from(bytes);
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(body.length);
  body.copy(out, 4);
  return out;
}

/** One agent message: its length, then its type and body. */
const agentMessage = (type: number, ...parts: Buffer[]) => wireString(Buffer.concat([Buffer.from([type]), ...parts]));

/**
 * The signature an agent answers for `data`: the format name, then the signature itself: Ed25519's
 * 64 bytes and RSA's PKCS#1 signature as Node makes them (RSA with the SHA-2 that ssh asked for in
 * `flags`, else ssh-rsa's SHA-1), ECDSA's r and s as two mpints (RFC 5656 §3.1.2), where Node gives
 * them back to back. null for a key this agent does not sign with.
 */
function agentSignature(key: ssh2.ParsedKey, data: Buffer, flags: number): Buffer | null {
  const ecdsa = ECDSA_HASH[key.type];
  if (ecdsa) {
    const pair = crypto.sign(ecdsa, data, { key: key.getPrivatePEM(), dsaEncoding: "ieee-p1363" });
    const half = pair.length / 2;
    return Buffer.concat([wireString(key.type), wireString(Buffer.concat([mpint(pair.subarray(0, half)), mpint(pair.subarray(half))]))]);
  }
  let format: string = key.type;
  let hash: string | undefined;
  if (key.type === "ssh-rsa" && flags & AGENT_RSA_SHA2_512) [format, hash] = ["rsa-sha2-512", "sha512"];
  else if (key.type === "ssh-rsa" && flags & AGENT_RSA_SHA2_256) [format, hash] = ["rsa-sha2-256", "sha256"];
  const signature = key.sign(data, hash);
  return signature instanceof Error ? null : Buffer.concat([wireString(format), wireString(signature)]);
}

/** The agent's answer to one message (its type and body): the key, a signature, or a failure. */
function agentAnswer(key: ssh2.ParsedKey, message: Buffer): Buffer {
  const publicBlob = key.getPublicSSH();
  if (message[0] === AGENTC_REQUEST_IDENTITIES) return agentMessage(AGENT_IDENTITIES_ANSWER, Buffer.from([0, 0, 0, 1]), wireString(publicBlob), wireString(""));
  if (message[0] === AGENTC_SIGN_REQUEST) {
    // string key blob, string data, uint32 flags
    const fields: Buffer[] = [];
    let at = 1;
    for (let i = 0; i < 2 && at + 4 <= message.length; i += 1) {
      const length = message.readUInt32BE(at);
      fields.push(message.subarray(at + 4, at + 4 + length));
      at += 4 + length;
    }
    // Only with this key, whichever key ssh names.
    if (fields.length === 2 && at + 4 <= message.length && fields[0]!.equals(publicBlob)) {
      const signature = agentSignature(key, fields[1]!, message.readUInt32BE(at));
      if (signature) return agentMessage(AGENT_SIGN_RESPONSE, wireString(signature));
    }
  }
  return agentMessage(AGENT_FAILURE);
}

/**
 * An SSH agent inside this process for the system client's login, on a socket in our 0700 folder: it
 * lists the one key and signs with it, and refuses everything else (adding keys; extensions such as
 * OpenSSH's session-bind, which ssh then does without). It stands in for an `ssh-agent` fed by
 * `ssh-add -`: two processes that cost a copy ~100–140 ms before `ssh` could even start
 * (bench:offsite, loopback). The key stays in this process, which holds it for ssh2 anyway; the
 * caller closes the agent as soon as ssh has logged in. Written out rather than ssh2's
 * AgentProtocol, whose parser loses its place after a message it does not know (session-bind, which
 * ssh sends first).
 */
function serveKey(socket: string, key: ssh2.ParsedKey): Promise<{ close(): void }> {
  const connections = new Set<net.Socket>();
  const server = net.createServer((connection) => {
    connections.add(connection);
    connection.on("error", () => connection.destroy()).on("close", () => connections.delete(connection));
    let pending = Buffer.alloc(0);
    connection.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        // A login's messages are a few KB: a peer that announces more is not ssh.
        if (length === 0 || length > 256 * 1024) return connection.destroy();
        if (pending.length < 4 + length) break;
        connection.write(agentAnswer(key, pending.subarray(4, 4 + length)));
        pending = pending.subarray(4 + length);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(new RemoteStoreError("refused", `the login agent could not listen: ${error.message}`, { cause: error })));
    server.listen(socket, () =>
      resolve({
        close() {
          server.close();
          for (const connection of connections) connection.destroy();
          fs.rmSync(socket, { force: true });
        },
      }),
    );
  });
}

/** What ssh printed on stderr, as a failure the store can act on. */
function failureOf(stderr: string, code: number | null): RemoteStoreError {
  const said = stderr.trim().split("\n").slice(-3).join(" ").slice(0, 500);
  if (/host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|no matching host key type/i.test(stderr))
    return new RemoteStoreError("host-key-changed", `the system ssh client refused the server's host key (not the pinned one): ${said}`);
  if (/permission denied|too many authentication failures/i.test(stderr))
    return new RemoteStoreError("auth", `the server refused the user name, password or key: ${said}`);
  if (/subsystem request failed/i.test(stderr)) return new RemoteStoreError("refused", `the server offers no SFTP subsystem: ${said}`);
  return new RemoteStoreError("unreachable", `the system ssh client ended (exit ${code ?? "signal"})${said ? `: ${said}` : ""}`);
}

function sftpOverChild(child: ChildProcessWithoutNullStreams, release: () => void): { ready: Promise<void>; api: SystemSftp } {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  let ended: Error | null = null;
  let stderr = "";
  const endListeners = new Set<(error: Error) => void>();
  let inbox: Buffer = Buffer.alloc(0);
  let maxWrite = DEFAULT_WRITE;
  let extensions = new Map<string, string>();
  let versionReply: Pending | null = null;
  /** WRITE packet buffers free for reuse (see write). */
  const packets: Buffer[] = [];

  const finish = (error: Error) => {
    if (ended) return;
    ended = error;
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
    versionReply?.reject(error);
    for (const listener of endListeners) listener(error);
    release();
  };
  child.stderr.on("data", (data: Buffer) => {
    if (stderr.length < 8192) stderr += data.toString("utf8");
  });
  child.on("error", (error) => finish(new RemoteStoreError("unreachable", `the system ssh client could not start: ${error.message}`, { cause: error })));
  child.on("close", (code) => finish(failureOf(stderr, code)));
  // Our own writes to a child that died: reported through "close", not as an uncaught error.
  child.stdin.on("error", () => undefined);

  child.stdout.on("data", (data: Buffer) => {
    inbox = inbox.length === 0 ? data : Buffer.concat([inbox, data]);
    while (inbox.length >= 4) {
      const length = inbox.readUInt32BE(0);
      if (length < 1 || length > MAX_REPLY) {
        child.kill("SIGKILL");
        finish(new RemoteStoreError("refused", "the server's SFTP replies are out of step"));
        return;
      }
      if (inbox.length < 4 + length) break;
      const packet = inbox.subarray(4, 4 + length);
      inbox = inbox.subarray(4 + length);
      const type = packet[0];
      if (type === FXP_VERSION) {
        const waiting = versionReply;
        versionReply = null;
        waiting?.resolve(packet);
        continue;
      }
      const id = packet.readUInt32BE(1);
      const waiting = pending.get(id);
      pending.delete(id);
      waiting?.resolve(packet);
    }
  });

  const send = (packet: Buffer) => {
    child.stdin.write(packet);
  };
  const string = (value: string | Buffer) => {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    const out = Buffer.allocUnsafe(4 + bytes.length);
    out.writeUInt32BE(bytes.length, 0);
    bytes.copy(out, 4);
    return out;
  };
  const request = (type: number, ...fields: Buffer[]): Promise<Buffer> => {
    if (ended) return Promise.reject(ended);
    const id = nextId;
    nextId = (nextId + 1) >>> 0 || 1;
    const body = Buffer.concat(fields);
    const head = Buffer.allocUnsafe(9);
    head.writeUInt32BE(5 + body.length, 0);
    head[4] = type;
    head.writeUInt32BE(id, 5);
    return new Promise<Buffer>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      send(Buffer.concat([head, body]));
    });
  };
  const readString = (packet: Buffer, at: number): [Buffer, number] => {
    const length = packet.readUInt32BE(at);
    return [packet.subarray(at + 4, at + 4 + length), at + 4 + length];
  };
  /** A STATUS reply's outcome: nothing for OK, an SftpStatusError otherwise. */
  const checkStatus = (packet: Buffer, doing: string) => {
    if (packet[0] !== FXP_STATUS) throw new SftpStatusError(-1, `${doing}: unexpected reply type ${packet[0]}`);
    const code = packet.readUInt32BE(5);
    if (code === STATUS_OK) return;
    let message = "";
    try {
      message = readString(packet, 9)[0].toString("utf8");
    } catch {
      // a status without its message: the code alone says it
    }
    throw new SftpStatusError(code, `${doing}: ${message || `status ${code}`}`);
  };
  const u32 = (value: number) => {
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(value, 0);
    return out;
  };
  const extended = (name: string, ...fields: Buffer[]) => request(FXP_EXTENDED, string(name), ...fields);

  const ready = (async () => {
    const version = new Promise<Buffer>((resolve, reject) => (versionReply = { resolve, reject }));
    const init = Buffer.allocUnsafe(9);
    init.writeUInt32BE(5, 0);
    init[4] = FXP_INIT;
    init.writeUInt32BE(3, 5);
    send(init);
    const timer = setTimeout(
      () => {
        child.kill("SIGKILL");
        finish(new RemoteStoreError("unreachable", `the system ssh client did not open SFTP within ${SETUP_TIMEOUT_MS / 1000} s`));
      },
      SETUP_TIMEOUT_MS + CONNECT_TIMEOUT_S * 1000,
    );
    try {
      const packet = await version;
      extensions = new Map();
      for (let at = 5; at < packet.length;) {
        const [name, afterName] = readString(packet, at);
        const [data, afterData] = readString(packet, afterName);
        extensions.set(name.toString("latin1"), data.toString("latin1"));
        at = afterData;
      }
      if (extensions.has("limits@openssh.com")) {
        const reply = await extended("limits@openssh.com");
        if (reply[0] === FXP_EXTENDED_REPLY) {
          // uint64 max-packet, max-read, max-write, max-handles: the write limit is the third.
          const announced = Number(reply.readBigUInt64BE(5 + 16));
          if (announced > 0) maxWrite = Math.min(announced, MAX_WRITE);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  })();

  const api: SystemSftp = {
    get maxWrite() {
      return maxWrite;
    },
    get closed() {
      return ended !== null;
    },
    async open(file, mode) {
      const attrs = Buffer.concat([u32(ATTR_PERMISSIONS), u32(mode)]);
      const reply = await request(FXP_OPEN, string(file), u32(FXF_WRITE | FXF_CREAT | FXF_TRUNC), attrs);
      if (reply[0] === FXP_HANDLE) return Buffer.from(readString(reply, 5)[0]);
      checkStatus(reply, `open ${file}`);
      throw new SftpStatusError(-1, `open ${file}: no handle`);
    },
    async write(handle, offset, data) {
      if (ended) throw ended;
      // One packet, data copied in, so the caller's buffer is free again when this returns. The packet
      // buffers are reused once answered (then surely written out): a new 255 KiB buffer per write made
      // V8 collect garbage every few dozen MB, as the ssh2 path's per-read buffers once did.
      const id = nextId;
      nextId = (nextId + 1) >>> 0 || 1;
      const length = 1 + 4 + 4 + handle.length + 8 + 4 + data.length;
      const pooled = length + 4 <= PACKET_BUFFER ? packets.pop() : undefined;
      const buffer = pooled ?? Buffer.allocUnsafeSlow(Math.max(PACKET_BUFFER, 4 + length));
      let at = buffer.writeUInt32BE(length, 0);
      buffer[at++] = FXP_WRITE;
      at = buffer.writeUInt32BE(id, at);
      at = buffer.writeUInt32BE(handle.length, at);
      at += handle.copy(buffer, at);
      at = buffer.writeBigUInt64BE(BigInt(offset), at);
      at = buffer.writeUInt32BE(data.length, at);
      data.copy(buffer, at);
      const reply = await new Promise<Buffer>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        send(buffer.subarray(0, 4 + length));
      });
      if (buffer.length === PACKET_BUFFER && packets.length < MAX_POOLED) packets.push(buffer);
      checkStatus(reply, "write");
    },
    async fsync(handle) {
      if (!extensions.has("fsync@openssh.com")) return;
      checkStatus(await extended("fsync@openssh.com", string(handle)), "fsync");
    },
    async close(handle) {
      checkStatus(await request(FXP_CLOSE, string(handle)), "close");
    },
    async rename(from, to) {
      if (!extensions.has("posix-rename@openssh.com")) throw new SftpStatusError(8, "the server has no posix-rename");
      checkStatus(await extended("posix-rename@openssh.com", string(from), string(to)), `rename ${from}`);
    },
    onEnd(listener) {
      endListeners.add(listener);
      return () => endListeners.delete(listener);
    },
    async end() {
      if (!ended) await endChild(child);
    },
  };
  return { ready, api };
}

/**
 * The `sftp -b -` child's stdin takes one command group per put: `put` then `lpwd`, whose answer
 * ("Local working directory: <dir>", dir being the child's cwd) is read as "the put before it is
 * done": sftp runs commands in order and, in batch mode, exits at the first that fails, so a
 * put either is followed by that line or ends the process. The first `lpwd`, sent at once, says
 * the login succeeded.
 */
function sftpBatchOverChild(child: ChildProcessWithoutNullStreams, dir: string, release: () => void): { ready: Promise<void>; api: SystemSftpBatch } {
  const marker = `Local working directory: ${fs.realpathSync(dir)}`;
  let ended: Error | null = null;
  let stderr = "";
  let stdout = "";
  const waiting: Pending[] = [];
  const endListeners = new Set<(error: Error) => void>();
  const finish = (error: Error) => {
    if (ended) return;
    ended = error;
    for (const { reject } of waiting.splice(0)) reject(error);
    for (const listener of endListeners) listener(error);
    release();
  };
  child.stderr.on("data", (data: Buffer) => {
    if (stderr.length < 8192) stderr += data.toString("utf8");
  });
  child.stdout.on("data", (data: Buffer) => {
    stdout += data.toString("utf8");
    for (let end = stdout.indexOf("\n"); end >= 0; end = stdout.indexOf("\n")) {
      const line = stdout.slice(0, end);
      stdout = stdout.slice(end + 1);
      if (line === marker) waiting.shift()?.resolve(Buffer.alloc(0));
    }
  });
  child.on("error", (error) => finish(new RemoteStoreError("unreachable", `the system sftp client could not start: ${error.message}`, { cause: error })));
  child.on("close", (code) => {
    // A put that failed with the connection up: sftp said why ("Couldn't write to remote file …: Failure").
    const said = stderr.trim().split("\n").slice(-2).join(" ").slice(0, 500);
    if (waiting.length > 0 && /couldn't|failure|no such file|permission denied/i.test(said) && !/connection|broken pipe|closed/i.test(said))
      finish(new SftpStatusError(4, `sftp: ${said}`));
    else finish(failureOf(stderr, code));
  });
  child.stdin.on("error", () => undefined);
  const command = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (ended) return reject(ended);
      waiting.push({ resolve: () => resolve(), reject });
      child.stdin.write(`${text}lpwd\n`);
    });
  const ready = (async () => {
    const timer = setTimeout(
      () => {
        child.kill("SIGKILL");
        finish(new RemoteStoreError("unreachable", `the system sftp client did not log in within ${SETUP_TIMEOUT_MS / 1000} s`));
      },
      SETUP_TIMEOUT_MS + CONNECT_TIMEOUT_S * 1000,
    );
    try {
      await command("");
    } finally {
      clearTimeout(timer);
    }
  })();
  const api: SystemSftpBatch = {
    get closed() {
      return ended !== null;
    },
    put(local, remote) {
      if (!BATCH_SAFE_PATH.test(local) || !BATCH_SAFE_PATH.test(remote)) return Promise.reject(new SftpStatusError(-1, "a path sftp would glob or split"));
      return command(`put ${local} ${remote}\n`);
    },
    kill() {
      child.kill("SIGKILL");
    },
    onEnd(listener) {
      endListeners.add(listener);
      return () => endListeners.delete(listener);
    },
    async end() {
      if (!ended) await endChild(child);
    },
  };
  return { ready, api };
}
