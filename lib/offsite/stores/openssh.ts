import "server-only";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import type { RemoteFailure } from "@/lib/offsite/store";

/**
 * OpenSSH's own `sftp` client as the transport for a large file's bytes, beside the ssh2 session
 * that does everything else (stat, rename, hashing, listing). In process, ssh2 spends ~2.5x the CPU
 * of OpenSSH's C client per byte (JavaScript packet building, one socket write and one allocation
 * per 32 KiB packet, and the garbage collections those cause in the app's heap): on the shared
 * 2-core machine that made the upload ~1.8x `scp`'s time (bench:offsite).
 *
 * Nothing secret touches the disk: the private key goes on stdin to `ssh-add -` into a private
 * ssh-agent whose socket sits in a 0700 folder of our own, and the agent lives only as long as the
 * store (and exits within ~10 s by itself if this process dies: it is started with a command, our
 * stdin pipe, whose end it watches). The folder holds only public data: the destination's public
 * key (so ssh offers the agent's key and no default ~/.ssh one) and a known_hosts with the exact
 * host key the ssh2 session saw and checked against the pin, under `StrictHostKeyChecking=yes`: a
 * server showing any other key is refused by ssh as it is by ssh2.
 */

/**
 * Why an OpenSSH upload failed, in the store's words, with OpenSSH's own message; "unavailable":
 * OpenSSH could not be set up here (no agent, ssh-add refused the key), the server was not asked.
 */
export class OpenSshFailure extends Error {
  constructor(
    readonly reason: RemoteFailure | "unavailable",
    message: string,
  ) {
    super(message);
    this.name = "OpenSshFailure";
  }
}

export interface OpenSshUploader {
  /** Whether `upload` can carry these paths in an sftp batch line without quoting surprises (globs, quotes, spaces). */
  canCarry(localFile: string, remoteFile: string): boolean;
  /** Writes the local file over `remoteFile` (created beforehand or not); rejects with an OpenSshFailure. The caller fsyncs. */
  upload(localFile: string, remoteFile: string, signal?: AbortSignal): Promise<void>;
  /** Ends the sftp session, stops the agent and removes the folder. */
  close(): Promise<void>;
}

export interface OpenSshTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string;
  /** the host key blob (SSH wire format) the ssh2 session was shown and accepted */
  hostKey: Buffer;
}

const TOOLS = ["sftp", "ssh", "ssh-agent", "ssh-add"] as const;
/** Where the tools are looked up and what they run with: the system's folders, as for plugins, not the app's environment. */
const TOOL_PATH = "/usr/local/bin:/usr/bin:/bin";
/** AES-GCM first: OpenSSL's AES-NI path costs the server (sshd decrypting) less than chacha20, which is what scp picks by default. */
const CIPHERS = "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr";
/** The name the host key is pinned under in our known_hosts (any host/port spelling then matches it). */
const HOST_ALIAS = "mimir-destination";
/** What sftp prints for `lpwd`: the marker that the command before it is done. */
const DONE_LINE = "Local working directory:";

interface SftpSession {
  child: ChildProcess;
  /** Runs one sftp command; rejects with an OpenSshFailure when sftp ends instead (a failed command ends a batch). */
  run(command: string): Promise<void>;
}
const AGENT_START_MS = 5_000;
/** How long close() lets sftp end by itself before stopping it. */
const SESSION_END_MS = 5_000;
/** Bytes of ssh's stderr kept for the error message. */
const STDERR_KEEP = 4096;
/** Characters an sftp batch line would treat specially (quotes, escapes, globs, comments, separators). */
const SAFE_PATH = /^[^\s"'\\*?[\]#\u0000-\u001f\u007f]+$/;
const SAFE_HOST = /^[A-Za-z0-9._:-]+$/;

let toolsFound: boolean | null = null;
/** Whether the OpenSSH client tools are on PATH (looked up once per process). */
function toolsAvailable(): boolean {
  if (toolsFound !== null) return toolsFound;
  const dirs = TOOL_PATH.split(path.delimiter);
  toolsFound = TOOLS.every((tool) =>
    dirs.some((dir) => {
      try {
        fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }),
  );
  return toolsFound;
}

/** The key algorithm name at the start of an SSH key blob ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"). */
function keyType(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || blob.length < 4 + length) return null;
  const type = blob.subarray(4, 4 + length).toString("latin1");
  return /^[a-z0-9@.-]+$/.test(type) ? type : null;
}

/**
 * An uploader for this target, or null when OpenSSH cannot carry it and the caller keeps ssh2:
 * the tools are missing, the key has a passphrase or is one ssh2 reads and OpenSSH may not (the
 * caller also falls back when ssh-add refuses it), or the host is not a plain name or address.
 */
export function createOpenSshUploader(target: OpenSshTarget): OpenSshUploader | null {
  if (!toolsAvailable() || !SAFE_HOST.test(target.host) || target.host.startsWith("-")) return null;
  const parsed = ssh2.utils.parseKey(target.privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) return null;
  const hostKeyType = keyType(target.hostKey);
  const userKeyType = keyType(key.getPublicSSH());
  if (!hostKeyType || !userKeyType) return null;

  let ready: Promise<{ dir: string; socket: string }> | null = null;
  let agent: ChildProcess | null = null;
  let agentPid: number | null = null;
  let dir: string | null = null;
  let current: SftpSession | null = null;
  // Next.js types ProcessEnv with a required NODE_ENV; the tools get only what is listed here.
  const toolEnv = (socket: string) => ({ PATH: TOOL_PATH, LANG: "C", LC_ALL: "C", SSH_AUTH_SOCK: socket }) as unknown as NodeJS.ProcessEnv;

  const start = async (): Promise<{ dir: string; socket: string }> => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-openssh-"));
    fs.chmodSync(dir, 0o700);
    const socket = path.join(dir, "agent.sock");
    fs.writeFileSync(path.join(dir, "known_hosts"), `${HOST_ALIAS} ${hostKeyType} ${target.hostKey.toString("base64")}\n`, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "id.pub"), `${userKeyType} ${key.getPublicSSH().toString("base64")}\n`, { mode: 0o600 });
    // With a command, ssh-agent runs as that command's child and exits once it is gone; the command
    // (our pid) prints the agent's pid for close() and then waits on our stdin pipe, which closes
    // when we stop it or when this process dies.
    agent = spawn("ssh-agent", ["-a", socket, "sh", "-c", 'echo "$SSH_AGENT_PID"; exec cat >/dev/null'], {
      env: toolEnv(socket),
      stdio: ["pipe", "pipe", "ignore"],
    });
    agent.on("error", () => undefined);
    agent.stdout!.once("data", (data: Buffer) => {
      const pid = Number.parseInt(data.toString("latin1"), 10);
      if (Number.isInteger(pid) && pid > 1) agentPid = pid;
    });
    const started = Date.now();
    while (!fs.existsSync(socket) || agentPid === null) {
      if (agent.exitCode !== null || Date.now() - started > AGENT_START_MS) throw new Error("ssh-agent did not start");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise<void>((resolve, reject) => {
      const add = spawn("ssh-add", ["-q", "-"], { env: toolEnv(socket), stdio: ["pipe", "ignore", "ignore"] });
      add.on("error", reject);
      add.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add refused the key (exit ${code})`))));
      add.stdin!.on("error", () => undefined);
      add.stdin!.end(target.privateKey.endsWith("\n") ? target.privateKey : `${target.privateKey}\n`);
    });
    return { dir, socket };
  };

  /**
   * One sftp process (one SSH connection) for all of this store's uploads, fed a command at a time:
   * a connection costs a key exchange and a login (0.2–0.5 s on the loaded test machine), which
   * per file was as long as a 40 MB upload. After each `put` it runs `lpwd`, whose answer says the
   * put is done (sftp answers commands in order; in batch mode a failed put ends the process).
   */
  const sftpSession = async (): Promise<SftpSession> => {
    if (current) return current;
    ready ??= start();
    const { dir: folder, socket } = await ready;
    const options = [
      `UserKnownHostsFile=${path.join(folder, "known_hosts")}`,
      "GlobalKnownHostsFile=/dev/null",
      "StrictHostKeyChecking=yes",
      `HostKeyAlias=${HOST_ALIAS}`,
      `HostKeyAlgorithms=${hostKeyType === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : hostKeyType}`,
      "CheckHostIP=no",
      "UpdateHostKeys=no",
      `IdentityFile=${path.join(folder, "id.pub")}`,
      "IdentitiesOnly=yes",
      "PreferredAuthentications=publickey",
      `User=${target.user}`,
      "Compression=no",
      "ConnectTimeout=20",
      "ServerAliveInterval=15",
      "ServerAliveCountMax=4",
      "LogLevel=ERROR",
    ].flatMap((option) => ["-o", option]);
    const host = target.host.includes(":") ? `[${target.host}]` : target.host;
    const child = spawn("sftp", ["-q", "-b", "-", "-F", "/dev/null", "-P", String(target.port), "-c", CIPHERS, ...options, host], {
      env: toolEnv(socket),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stderr = "";
    let stdout = "";
    let exit: string | null = null;
    let waiter: { resolve: () => void; reject: (error: OpenSshFailure) => void } | null = null;
    const failure = () => new OpenSshFailure(classify(stderr), oneLine(stderr) || `sftp ended with ${exit}`);
    const ended = (how: string) => {
      exit ??= how;
      if (current === session) current = null;
      const pending = waiter;
      waiter = null;
      pending?.reject(failure());
    };
    child.stdout!.on("data", (data: Buffer) => {
      stdout += data.toString("utf8");
      for (let end = stdout.indexOf("\n"); end >= 0; end = stdout.indexOf("\n")) {
        const line = stdout.slice(0, end);
        stdout = stdout.slice(end + 1);
        if (line.startsWith(DONE_LINE)) {
          const pending = waiter;
          waiter = null;
          pending?.resolve();
        }
      }
    });
    child.stderr!.on("data", (data: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += data.toString("utf8");
    });
    child.stdin!.on("error", () => undefined);
    child.on("error", (error) => ended(error.message));
    child.on("close", (code, signal) => ended(signal ?? `exit ${code}`));
    const session: SftpSession = {
      child,
      run: (command) =>
        new Promise<void>((resolve, reject) => {
          if (exit !== null) return reject(failure());
          stderr = "";
          waiter = { resolve, reject };
          child.stdin!.write(`${command}\nlpwd\n`);
        }),
    };
    current = session;
    return session;
  };

  const close = async () => {
    const session = current;
    current = null;
    if (session && session.child.exitCode === null && session.child.signalCode === null) {
      // The end of its batch ends sftp cleanly; one still busy (a cancelled put) is stopped.
      const exited = new Promise((resolve) => session.child.once("close", resolve));
      session.child.stdin!.end();
      const timer = setTimeout(() => session.child.kill("SIGTERM"), SESSION_END_MS);
      await exited;
      clearTimeout(timer);
    }
    if (agentPid !== null) {
      try {
        process.kill(agentPid, "SIGTERM");
      } catch {
        // already gone
      }
      agentPid = null;
    }
    agent?.stdin?.destroy();
    agent = null;
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = null;
    ready = null;
  };

  return {
    canCarry: (localFile, remoteFile) => SAFE_PATH.test(localFile) && SAFE_PATH.test(remoteFile) && !remoteFile.startsWith("-"),

    async upload(localFile, remoteFile, signal) {
      signal?.throwIfAborted();
      let client: SftpSession;
      try {
        client = await sftpSession();
      } catch (error) {
        if (error instanceof OpenSshFailure) throw error;
        await close();
        // The caller falls back to ssh2 for this store: OpenSSH could not be set up, the server was not asked.
        throw new OpenSshFailure("unavailable", `OpenSSH client unavailable: ${(error as Error).message}`);
      }
      const aborted = () => client.child.kill("SIGTERM");
      signal?.addEventListener("abort", aborted, { once: true });
      try {
        await client.run(`put "${localFile}" "${remoteFile}"`);
      } catch (error) {
        if (signal?.aborted) throw new OpenSshFailure("aborted", "cancelled");
        throw error;
      } finally {
        signal?.removeEventListener("abort", aborted);
      }
    },
    close,
  };
}

function oneLine(text: string): string {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("sftp>"))
    .join("; ")
    .slice(0, 500);
}

/** OpenSSH's stderr in the store's words (its exit status is 1 or 255 whatever went wrong). */
export function classify(stderr: string): RemoteFailure {
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|host key for .* has changed/i.test(stderr)) return "host-key-changed";
  if (/Permission denied \(|Too many authentication failures|no such identity|agent refused/i.test(stderr)) return "auth";
  if (
    /Connection (refused|reset|closed|timed out|lost)|closed by remote host|Broken pipe|No route to host|Network is unreachable|Could not resolve|Name or service not known|timed out|Timeout|Couldn't read packet|Connection to .* closed|client_loop|kex_exchange_identification|ssh_dispatch_run_fatal|Write failed/i.test(
      stderr,
    )
  )
    return "unreachable";
  if (/No space left|quota exceeded|Disk quota/i.test(stderr)) return "full";
  return "refused";
}
