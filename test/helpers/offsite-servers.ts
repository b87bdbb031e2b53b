import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { S3Settings } from "@/lib/offsite/stores/s3";
import type { WebDavSettings } from "@/lib/offsite/stores/webdav";

/**
 * Real offsite servers on loopback for the tests, started and stopped by them:
 * - S3: s3rver (npm), a Node implementation of the S3 REST API that checks V4 signatures and keeps
 *   objects on disk, run as a child process so a test can kill it mid-upload;
 * - WebDAV: Apache httpd with mod_dav_fs (Debian apache2-bin, installed by scripts/ensure-test-tools.sh),
 *   optionally on a small tmpfs in a private mount namespace (`unshare -m`) to fill its disk; or
 *   `rclone serve webdav` (Debian rclone) as a second implementation.
 * Each returns the settings a store needs, `allow` (the MIMIR_ALLOWED_DESTINATIONS entry that lets the
 * outbound guard reach it), and kill/restart/stop. Servers run in their own process group so that a
 * kill takes their workers along (Apache serves from children).
 */

export interface TestServer<S> {
  settings: S;
  /** "127.0.0.1:<port>", for MIMIR_ALLOWED_DESTINATIONS */
  allow: string;
  port: number;
  /** Where the server keeps its files (S3: s3rver's folder; WebDAV: the served root, when not on a tmpfs). */
  dataDir: string;
  /** SIGKILL to the whole server, as a crash or a pulled cable would. */
  kill: () => Promise<void>;
  /** SIGSTOP / SIGCONT to the whole server: it still accepts connections (the kernel does) but answers nothing, like a hung host. */
  freeze: () => void;
  thaw: () => void;
  /** Starts it again on the same port and data (after kill()). */
  restart: () => Promise<void>;
  /** Stops it and removes its files. */
  stop: () => Promise<void>;
}

export async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => probe.once("listening", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Polls until something accepts connections on the port (or the process died). */
async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the server exited before listening on ${port}:\n${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function killGroup(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid!, signal);
    // A frozen server (freeze()) acts on SIGTERM only once it runs again.
    if (signal !== "SIGKILL") process.kill(-child.pid!, "SIGCONT");
  } catch {
    // already gone
  }
  await exited;
}

/** Spawns `command` in its own process group and waits until it listens on `port`. */
async function startProcess(command: string, args: string[], port: number): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const append = (chunk: Buffer) => (output = (output + chunk.toString("utf8")).slice(-4000));
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  const log = () => output;
  try {
    await waitForPort(port, child, log);
  } catch (error) {
    await killGroup(child, "SIGKILL");
    throw error;
  }
  return { child, log };
}

const S3RVER_BIN = path.resolve(import.meta.dirname, "../../node_modules/s3rver/bin/s3rver.js");

/**
 * s3rver on 127.0.0.1 with one bucket, path-style, its fixed credentials (S3RVER/S3RVER: it refuses
 * any other key with InvalidAccessKeyId and a wrong secret with SignatureDoesNotMatch).
 */
export async function startTestS3Server(options: { bucket?: string; prefix?: string } = {}): Promise<TestServer<S3Settings>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-s3rver-"));
  const port = await freePort();
  const bucket = options.bucket ?? "mimir-test";
  // s3rver makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3 keeps in its legacy
  // provider: without it every truncated listing answers 500.
  const args = [
    "--openssl-legacy-provider",
    S3RVER_BIN,
    "--directory",
    dataDir,
    "--address",
    "127.0.0.1",
    "--port",
    String(port),
    "--silent",
    "--configure-bucket",
    bucket,
  ];
  let current = await startProcess(process.execPath, args, port).catch((error: unknown) => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    settings: {
      endpoint: `http://127.0.0.1:${port}`,
      region: "us-east-1",
      bucket,
      prefix: options.prefix,
      forcePathStyle: true,
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
    },
    allow: `127.0.0.1:${port}`,
    port,
    dataDir,
    kill: () => killGroup(current.child, "SIGKILL"),
    freeze: () => process.kill(-current.child.pid!, "SIGSTOP"),
    thaw: () => process.kill(-current.child.pid!, "SIGCONT"),
    restart: async () => {
      current = await startProcess(process.execPath, args, port);
    },
    stop: async () => {
      await killGroup(current.child, "SIGTERM");
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const APACHE_MODULES = ["mpm_event", "alias", "authz_core", "authz_user", "authn_core", "authn_file", "auth_basic", "dav", "dav_fs"];

/**
 * Apache httpd with mod_dav_fs serving a fresh folder at /dav/ with Basic authentication, as root
 * that switches its workers to www-data (as Debian runs it). `sizeLimit` (e.g. "4m") puts the served
 * folder on a tmpfs of that size in a private mount namespace, so the disk fills for real and no
 * mount outlives the server.
 */
export async function startTestWebDavServer(
  options: { username?: string; password?: string; sizeLimit?: string; implementation?: "apache" | "rclone" } = {},
): Promise<TestServer<WebDavSettings>> {
  const username = options.username ?? "mimir";
  const password = options.password ?? "dav-test-password";
  if (options.implementation === "rclone") return startRcloneWebDav(username, password);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-webdav-"));
  // Apache's workers run as www-data: they must reach the folder and write the served root and lock db.
  fs.chmodSync(home, 0o755);
  const served = path.join(home, "dav");
  const run = path.join(home, "run");
  fs.mkdirSync(served);
  fs.mkdirSync(run);
  const wwwData = { uid: 33, gid: 33 };
  fs.chownSync(served, wwwData.uid, wwwData.gid);
  fs.chownSync(run, wwwData.uid, wwwData.gid);
  // {SHA} is one of the hash formats Apache's authn_file reads, so no htpasswd binary is needed.
  fs.writeFileSync(path.join(home, "htpasswd"), `${username}:{SHA}${createHash("sha1").update(password).digest("base64")}\n`);
  const port = await freePort();
  const modules = APACHE_MODULES.map((name) => `LoadModule ${name}_module /usr/lib/apache2/modules/mod_${name}.so`).join("\n");
  fs.writeFileSync(
    path.join(home, "httpd.conf"),
    `ServerRoot ${home}
ServerName 127.0.0.1
Listen 127.0.0.1:${port}
PidFile ${run}/httpd.pid
ErrorLog ${home}/error.log
LogLevel warn
${modules}
User #${wwwData.uid}
Group #${wwwData.gid}
DavLockDB ${run}/davlock
Alias /dav ${served}
<Directory ${served}>
  Dav On
  AuthType Basic
  AuthName "mimir test"
  AuthUserFile ${home}/htpasswd
  Require valid-user
</Directory>
`,
  );
  const httpd = `exec /usr/sbin/apache2 -f ${home}/httpd.conf -DFOREGROUND`;
  const [command, args] = options.sizeLimit
    ? [
        "unshare",
        [
          "-m",
          "--propagation",
          "private",
          "sh",
          "-c",
          `mount -t tmpfs -o size=${options.sizeLimit},uid=${wwwData.uid},gid=${wwwData.gid},mode=0755 tmpfs ${served} && ${httpd}`,
        ],
      ]
    : ["sh", ["-c", httpd]];
  let current = await startProcess(command, args as string[], port).catch((error: unknown) => {
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  });
  return {
    settings: { url: `http://127.0.0.1:${port}/dav/`, username, password },
    allow: `127.0.0.1:${port}`,
    port,
    dataDir: served,
    kill: () => killGroup(current.child, "SIGKILL"),
    freeze: () => process.kill(-current.child.pid!, "SIGSTOP"),
    thaw: () => process.kill(-current.child.pid!, "SIGCONT"),
    restart: async () => {
      current = await startProcess(command, args as string[], port);
    },
    stop: async () => {
      await killGroup(current.child, "SIGTERM");
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * `rclone serve webdav` (Go's x/net/webdav underneath): a second implementation, to catch what only
 * one server tolerates. No disk-full variant: it answers a failed write with 405, not 507.
 */
async function startRcloneWebDav(username: string, password: string): Promise<TestServer<WebDavSettings>> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-rclone-dav-"));
  const served = path.join(home, "dav");
  fs.mkdirSync(served);
  const port = await freePort();
  const args = ["serve", "webdav", served, "--addr", `127.0.0.1:${port}`, "--user", username, "--pass", password, "--config", path.join(home, "rclone.conf")];
  let current = await startProcess("rclone", args, port).catch((error: unknown) => {
    fs.rmSync(home, { recursive: true, force: true });
    throw error;
  });
  return {
    settings: { url: `http://127.0.0.1:${port}/`, username, password },
    allow: `127.0.0.1:${port}`,
    port,
    dataDir: served,
    kill: () => killGroup(current.child, "SIGKILL"),
    freeze: () => process.kill(-current.child.pid!, "SIGSTOP"),
    thaw: () => process.kill(-current.child.pid!, "SIGCONT"),
    restart: async () => {
      current = await startProcess("rclone", args, port);
    },
    stop: async () => {
      await killGroup(current.child, "SIGTERM");
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
