import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestSshd, type TestSshd } from "@/test/helpers/sshd";
import { createSftpStore, type SftpStoreSettings } from "@/lib/offsite/stores/sftp";
import { startSystemSftp, startSystemSftpBatch } from "@/lib/offsite/stores/openssh";
import { RemoteStoreError } from "@/lib/offsite/store";

// Uploads through the system OpenSSH client (`ssh -s sftp`) and the ssh2 fallback, against a real
// sshd that also accepts a password (checked against a private copy of /etc/shadow, see sshd.ts).

const PASSWORD = `pw-${crypto.randomBytes(6).toString("hex")}`;
let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startTestSshd({ password: PASSWORD });
});

afterAll(async () => {
  await sshd?.stop();
});

const settings = (extra: Partial<SftpStoreSettings> = {}): SftpStoreSettings => ({
  host: sshd.host,
  port: sshd.port,
  user: sshd.user,
  folder: path.join(sshd.folder, crypto.randomBytes(4).toString("hex")),
  private_key: sshd.privateKey,
  host_key_fingerprint: sshd.hostKeyFingerprint,
  ...extra,
});

const sha256 = (data: Buffer) => crypto.createHash("sha256").update(data).digest("hex");

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function failure(promise: Promise<unknown>): Promise<RemoteStoreError> {
  try {
    await promise;
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(RemoteStoreError);
    return error as RemoteStoreError;
  }
  throw new Error("expected a RemoteStoreError");
}

/** The server's current host key blob, as ssh-keyscan reads it from the wire. */
function scanHostKey(): Buffer {
  const line = execFileSync("ssh-keyscan", ["-t", "ed25519", "-p", String(sshd.port), sshd.host], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] })
    .split("\n")
    .find((entry) => entry.includes("ssh-ed25519"))!;
  return Buffer.from(line.split(" ")[2]!, "base64");
}

/** The private folders the system client made (0700, known_hosts, agent socket, askpass FIFO) that are still there. */
const leftoverFolders = () => new Set(fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith("mimir-ssh-")));

describe("SFTP uploads through the system ssh client", () => {
  test.each([
    ["a private key (signed for by the login agent in this process)", {}],
    ["a password (through SSH_ASKPASS reading a FIFO)", { private_key: undefined, password: PASSWORD }],
  ])("with %s: bytes land whole under the final name, and nothing of the session is left behind", async (_name, extra) => {
    const before = leftoverFolders();
    const store = createSftpStore(settings(extra));
    try {
      const data = crypto.randomBytes(3 * 1024 * 1024 + 77);
      const file = path.join(os.tmpdir(), `mimir-openssh-test-${crypto.randomBytes(4).toString("hex")}`);
      fs.writeFileSync(file, data);
      try {
        let progress = 0;
        await store.putFile!("set-a/mimir_data.tar.gz", file, data.length, { onProgress: (bytes) => (progress = bytes) });
        expect(progress).toBe(data.length);
        // A key login: OpenSSH's sftp (batch mode) carried the file; a password: our framing over ssh.
        expect(store.uploadClient()).toBe("openssh");
      } finally {
        fs.rmSync(file);
      }
      await store.put("set-a/manifest.json", Readable.from([Buffer.from("{}")]), 2);
      expect(sha256(await readAll(await store.get("set-a/mimir_data.tar.gz")))).toBe(sha256(data));
      const keys: string[] = [];
      for await (const object of store.list("set-a/")) keys.push(object.key);
      expect(keys.sort()).toEqual(["set-a/manifest.json", "set-a/mimir_data.tar.gz"]);
    } finally {
      await store.close();
    }
    const left = [...leftoverFolders()].filter((name) => !before.has(name));
    expect(left).toEqual([]);
  });

  test("the link is handed on (onSent) once every byte is acknowledged, before the file is made durable and named: until then only the partial name exists", async () => {
    const folder = settings().folder;
    const store = createSftpStore(settings({ folder }));
    const data = crypto.randomBytes(2 * 1024 * 1024 + 11);
    const file = path.join(os.tmpdir(), `mimir-openssh-test-${crypto.randomBytes(4).toString("hex")}`);
    fs.writeFileSync(file, data);
    try {
      let atSent: string[] | null = null;
      let progressAtSent = 0;
      let progress = 0;
      await store.putFile!("set-f/mimir_data.tar.gz", file, data.length, {
        onProgress: (bytes) => (progress = bytes),
        onSent: () => {
          atSent = fs.readdirSync(path.join(folder, "set-f"));
          progressAtSent = progress;
        },
      });
      expect(store.uploadClient()).toBe("openssh");
      expect(progressAtSent).toBe(data.length);
      expect(atSent).toHaveLength(1);
      expect(atSent![0]).not.toBe("mimir_data.tar.gz");
      expect(fs.readdirSync(path.join(folder, "set-f"))).toEqual(["mimir_data.tar.gz"]);
      expect(sha256(fs.readFileSync(path.join(folder, "set-f", "mimir_data.tar.gz")))).toBe(sha256(data));
    } finally {
      fs.rmSync(file);
      await store.close();
    }
  });

  test("without an ssh binary the upload goes through ssh2, alike", async () => {
    const store = createSftpStore(settings(), { sshBinary: "/nonexistent/ssh" });
    try {
      const data = crypto.randomBytes(1024 * 1024 + 5);
      await store.put("set-b/mimir_logs.tar.gz", Readable.from([data]), data.length);
      expect(store.uploadClient()).toBe("ssh2");
      expect(sha256(await readAll(await store.get("set-b/mimir_logs.tar.gz")))).toBe(sha256(data));
    } finally {
      await store.close();
    }
  });

  test("a wrong password is refused as auth and never appears in the error", async () => {
    const store = createSftpStore(settings({ private_key: undefined, password: "not-the-password" }));
    try {
      const error = await failure(store.put("set-c/x", Readable.from([Buffer.from("x")]), 1));
      expect(error.reason).toBe("auth");
      expect(error.message).not.toContain("not-the-password");
    } finally {
      await store.close();
    }
  });

  test("the system client refuses a host key other than the one it was handed, and accepts the one it was", async () => {
    const key = scanHostKey();
    const session = await startSystemSftp({ host: sshd.host, port: sshd.port, user: sshd.user, private_key: sshd.privateKey, hostKey: key });
    await session.end();
    expect(session.closed).toBe(true);
    // Another server key of the same type: ssh itself must stop before logging in.
    const other = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "mimir-openssh-key-")), "k");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const otherBlob = Buffer.from(fs.readFileSync(`${other}.pub`, "utf8").split(" ")[1]!, "base64");
    fs.rmSync(path.dirname(other), { recursive: true });
    const refused = await failure(startSystemSftp({ host: sshd.host, port: sshd.port, user: sshd.user, private_key: sshd.privateKey, hostKey: otherBlob }));
    expect(refused.reason).toBe("host-key-changed");
  });

  test("held to the pinned fingerprint alone, the system client logs in to the pinned server and refuses any other fingerprint", async () => {
    const before = leftoverFolders();
    const target = { host: sshd.host, port: sshd.port, user: sshd.user, private_key: sshd.privateKey };
    const session = await startSystemSftp({ ...target, hostKeyFingerprint: sshd.hostKeyFingerprint });
    await session.end();
    const other = `SHA256:${crypto.randomBytes(32).toString("base64").replace(/=+$/, "")}`;
    expect((await failure(startSystemSftp({ ...target, hostKeyFingerprint: other }))).reason).toBe("host-key-changed");
    // Nothing that is not a fingerprint reaches the script ssh runs.
    expect((await failure(startSystemSftp({ ...target, hostKeyFingerprint: "SHA256:x' ; touch /tmp/pwned; '" }))).reason).toBe("refused");
    expect([...leftoverFolders()].filter((name) => !before.has(name))).toEqual([]);
  });

  test("OpenSSH's sftp in batch mode puts files in order, refuses another fingerprint, and reports a failed put (its session ends)", async () => {
    const before = leftoverFolders();
    const target = { host: sshd.host, port: sshd.port, user: sshd.user, private_key: sshd.privateKey };
    const other = `SHA256:${crypto.randomBytes(32).toString("base64").replace(/=+$/, "")}`;
    expect((await failure(startSystemSftpBatch({ ...target, hostKeyFingerprint: other }))).reason).toBe("host-key-changed");
    const folder = settings().folder;
    fs.mkdirSync(folder);
    const file = path.join(os.tmpdir(), `mimir-openssh-test-${crypto.randomBytes(4).toString("hex")}`);
    const data = crypto.randomBytes(300 * 1024 + 1);
    fs.writeFileSync(file, data);
    const session = await startSystemSftpBatch({ ...target, hostKeyFingerprint: sshd.hostKeyFingerprint });
    try {
      await Promise.all([session.put(file, path.join(folder, "a")), session.put(file, path.join(folder, "b"))]);
      expect(sha256(fs.readFileSync(path.join(folder, "a")))).toBe(sha256(data));
      expect(sha256(fs.readFileSync(path.join(folder, "b")))).toBe(sha256(data));
      await expect(session.put(file, path.join(folder, "no-such-folder", "c"))).rejects.toThrow(/sftp/);
      expect(session.closed).toBe(true);
    } finally {
      await session.end();
      fs.rmSync(file);
    }
    expect([...leftoverFolders()].filter((name) => !before.has(name))).toEqual([]);
  });

  test("the login agent in this process signs with RSA and ECDSA keys as with Ed25519; a key the server does not take is refused as auth", async () => {
    const before = leftoverFolders();
    const keys = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-keys-"));
    const kinds: [string, string[]][] = [
      ["rsa", ["-t", "rsa", "-b", "3072"]],
      ["ecdsa256", ["-t", "ecdsa", "-b", "256"]],
      ["ecdsa384", ["-t", "ecdsa", "-b", "384"]],
      ["ecdsa521", ["-t", "ecdsa", "-b", "521"]],
    ];
    const folder = settings().folder;
    fs.mkdirSync(folder);
    const file = path.join(keys, "payload");
    const data = crypto.randomBytes(64 * 1024 + 3);
    fs.writeFileSync(file, data);
    const target = { host: sshd.host, port: sshd.port, user: sshd.user, hostKeyFingerprint: sshd.hostKeyFingerprint };
    try {
      for (const [name, args] of kinds) {
        execFileSync("ssh-keygen", ["-q", ...args, "-N", "", "-C", name, "-f", path.join(keys, name)]);
        fs.appendFileSync(path.join(path.dirname(sshd.folder), "authorized_keys"), fs.readFileSync(path.join(keys, `${name}.pub`)));
      }
      for (const [name] of kinds) {
        const session = await startSystemSftpBatch({ ...target, private_key: fs.readFileSync(path.join(keys, name), "utf8") });
        try {
          await session.put(file, path.join(folder, name));
        } finally {
          await session.end();
        }
        expect(sha256(fs.readFileSync(path.join(folder, name))), name).toBe(sha256(data));
      }
      expect((await failure(startSystemSftpBatch({ ...target, private_key: sshd.wrongKey }))).reason).toBe("auth");
    } finally {
      fs.rmSync(keys, { recursive: true, force: true });
    }
    expect([...leftoverFolders()].filter((name) => !before.has(name))).toEqual([]);
  });

  test("with a pin, a copy's system client starts before ssh2's handshake; when it is refused, the next session takes the key ssh2 checked", async () => {
    const data = crypto.randomBytes(512 * 1024 + 3);
    // Streamed puts with a key: over our framing client (sftpBinary null), which these sessions carry.
    const early = createSftpStore(settings(), { sftpBinary: null });
    try {
      early.prepareUpload!();
      await early.put("set-e/a", Readable.from([data]), data.length);
      expect(early.uploadClient()).toBe("openssh");
    } finally {
      await early.close();
    }
    // An `ssh` that fails every session held to a fingerprint alone, as it would when shown another
    // of the server's keys than the pinned one, and runs the real client otherwise.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-openssh-wrapper-"));
    const wrapper = path.join(dir, "ssh");
    const real = execFileSync("sh", ["-c", "command -v ssh"], { encoding: "utf8" }).trim();
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\ncase "$*" in *KnownHostsCommand*) echo fingerprint >> ${dir}/runs; echo "Host key verification failed." >&2; exit 255;; esac\necho key >> ${dir}/runs\nexec ${real} "$@"\n`,
      { mode: 0o700 },
    );
    const store = createSftpStore(settings(), { sshBinary: wrapper, sftpBinary: null });
    try {
      store.prepareUpload!();
      await store.put("set-e/b", Readable.from([data]), data.length);
      expect(store.uploadClient()).toBe("openssh");
      expect(sha256(await readAll(await store.get("set-e/b")))).toBe(sha256(data));
      expect(fs.readFileSync(path.join(dir, "runs"), "utf8").split("\n")).toEqual(["fingerprint", "key", ""]);
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a server re-keyed after the pin is refused before any byte is sent, on the system client's path too", async () => {
    const folder = settings().folder;
    const store = createSftpStore(settings({ folder }), { sftpBinary: null });
    try {
      await store.put("set-d/a", Readable.from([Buffer.from("a")]), 1);
      expect(store.uploadClient()).toBe("openssh");
    } finally {
      await store.close();
    }
    const pinned = sshd.hostKeyFingerprint;
    await sshd.restart({ newHostKey: true });
    const again = createSftpStore(settings({ folder, host_key_fingerprint: pinned }), { sftpBinary: null });
    try {
      expect((await failure(again.put("set-d/b", Readable.from([Buffer.from("b")]), 1))).reason).toBe("host-key-changed");
    } finally {
      await again.close();
    }
    // As a copy runs it: the system client starts at once, held to the pinned fingerprint.
    const copying = createSftpStore(settings({ folder, host_key_fingerprint: pinned }), { sftpBinary: null });
    try {
      copying.prepareUpload!();
      expect((await failure(copying.put("set-d/c", Readable.from([Buffer.from("c")]), 1))).reason).toBe("host-key-changed");
    } finally {
      await copying.close();
    }
    // A whole file, as a copy sends it: through OpenSSH's sftp (batch mode), held to the pin alike.
    const file = path.join(os.tmpdir(), `mimir-openssh-test-${crypto.randomBytes(4).toString("hex")}`);
    fs.writeFileSync(file, "d");
    const batch = createSftpStore(settings({ folder, host_key_fingerprint: pinned }));
    try {
      batch.prepareUpload!();
      expect((await failure(batch.putFile!("set-d/d", file, 1))).reason).toBe("host-key-changed");
    } finally {
      await batch.close();
      fs.rmSync(file);
    }
    expect(fs.existsSync(path.join(folder, "set-d", "b"))).toBe(false);
    expect(fs.readdirSync(path.join(folder, "set-d"))).toEqual(["a"]);
  });
});
