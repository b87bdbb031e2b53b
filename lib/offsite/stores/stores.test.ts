import crypto from "node:crypto";
import { getEventListeners } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startTestSshd, type TestSshd } from "@/test/helpers/sshd";
import { createFolderStore } from "@/lib/offsite/stores/folder";
import { createSftpStore, filePieces, inPieces } from "@/lib/offsite/stores/sftp";
import { RemoteStoreError, type RemoteStore } from "@/lib/offsite/store";

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function reason(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(RemoteStoreError);
    return (error as RemoteStoreError).reason;
  }
  throw new Error("expected a RemoteStoreError");
}

let sshd: TestSshd;
let folderRoot: string;

beforeAll(async () => {
  sshd = await startTestSshd();
  folderRoot = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-folder-store-"));
});

afterAll(async () => {
  await sshd?.stop();
  fs.rmSync(folderRoot, { recursive: true, force: true });
});

const kinds: [string, () => RemoteStore][] = [
  ["folder", () => createFolderStore({ path: folderRoot })],
  [
    "sftp",
    () =>
      createSftpStore({
        host: sshd.host,
        port: sshd.port,
        user: sshd.user,
        folder: `${sshd.folder}/dest`,
        private_key: sshd.privateKey,
        host_key_fingerprint: sshd.hostKeyFingerprint,
      }),
  ],
];

describe.each(kinds)("%s store", (_name, make) => {
  test("put, stat, get, list and delete round-trip bytes exactly, at any depth", async () => {
    const store = make();
    try {
      // Several MB in odd-sized chunks: many requests in flight, a short last one.
      const data = crypto.randomBytes(5 * 1024 * 1024 + 123);
      await store.put("set-1/mimir_data.tar.gz", Readable.from([data.subarray(0, 1000), data.subarray(1000)]), data.length);
      await store.put("set-1/manifest.json", Readable.from([Buffer.from("{}")]), 2);
      await store.put("set-1/empty", Readable.from([]), 0);
      expect((await store.stat("set-1/mimir_data.tar.gz"))?.size).toBe(data.length);
      expect(await store.stat("set-1/missing")).toBeNull();
      const back = await readAll(await store.get("set-1/mimir_data.tar.gz"));
      expect(crypto.createHash("sha256").update(back).digest("hex")).toBe(crypto.createHash("sha256").update(data).digest("hex"));
      expect((await readAll(await store.get("set-1/empty"))).length).toBe(0);
      const keys: string[] = [];
      for await (const object of store.list("set-1/")) keys.push(object.key);
      expect(keys.sort()).toEqual(["set-1/empty", "set-1/manifest.json", "set-1/mimir_data.tar.gz"]);
      expect(await reason(store.get("set-1/missing"))).toBe("not-found");
      for (const key of keys) await store.delete(key);
      await store.delete("set-1/manifest.json");
      const left: string[] = [];
      for await (const object of store.list("")) left.push(object.key);
      expect(left).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("a body shorter than announced leaves no object under the key", async () => {
    const store = make();
    try {
      expect(await reason(store.put("short/file", Readable.from([Buffer.alloc(10)]), 20))).toBe("refused");
      expect(await store.stat("short/file")).toBeNull();
      const keys: string[] = [];
      for await (const object of store.list("short/")) keys.push(object.key);
      expect(keys).toEqual([]);
    } finally {
      await store.close();
    }
  });
});

describe("folder store", () => {
  test("an unmounted (missing) folder is unreachable and is never created", async () => {
    const missing = path.join(folderRoot, "not-mounted");
    const store = createFolderStore({ path: missing });
    expect(await reason(store.put("a/b", Readable.from([Buffer.from("x")]), 1))).toBe("unreachable");
    expect(fs.existsSync(missing)).toBe(false);
  });
});

describe("sftp store", () => {
  const settings = () => ({
    host: sshd.host,
    port: sshd.port,
    user: sshd.user,
    folder: `${sshd.folder}/pinning`,
    private_key: sshd.privateKey,
    host_key_fingerprint: null as string | null,
  });

  test("the first connection reports the host key to pin (as ssh-keygen prints it); a different pinned key is refused", async () => {
    const first = createSftpStore(settings());
    await first.stat("anything");
    expect(first.serverIdentity()).toBe(sshd.hostKeyFingerprint);
    await first.close();
    const other = createSftpStore({ ...settings(), host_key_fingerprint: "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" });
    expect(await reason(other.put("x", Readable.from([Buffer.from("x")]), 1))).toBe("host-key-changed");
    expect(fs.existsSync(path.join(sshd.folder, "pinning", "x"))).toBe(false);
    await other.close();
  });

  test("a key the server does not accept is an auth failure, not retried", async () => {
    const store = createSftpStore({ ...settings(), private_key: sshd.wrongKey });
    const error = await store.stat("x").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteStoreError);
    expect((error as RemoteStoreError).reason).toBe("auth");
    expect((error as RemoteStoreError).retryable).toBe(false);
    await store.close();
  });

  test("the server hashes each file from the bytes on its disk, file after file, whatever the name holds; a file changed there hashes as it is now", async () => {
    const store = createSftpStore({ ...settings(), folder: `${sshd.folder}/hashing` });
    const sha256 = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex");
    // The first goes through an exec of its own, the rest through the loop it opens: both must quote the name.
    const names = ["set/a.bin", "set/it's here.bin", "set/-starts-with-dash.bin", "set/$(touch INJECTED).bin", "set/back\\slash.bin", "set/last.bin"];
    const contents = new Map(names.map((name, index) => [name, crypto.randomBytes(1000 + index * 70_000)]));
    for (const [name, bytes] of contents) await store.put(name, Readable.from([bytes]), bytes.length);
    for (const [name, bytes] of contents) expect(await store.serverSha256!(name, bytes.length), name).toBe(sha256(bytes));
    expect(fs.existsSync(path.join(os.homedir(), "INJECTED"))).toBe(false);

    const changed = path.join(sshd.folder, "hashing", "set", "a.bin");
    const bytes = fs.readFileSync(changed);
    bytes[0]! ^= 0xff;
    fs.writeFileSync(changed, bytes);
    expect(await store.serverSha256!("set/a.bin", bytes.length)).toBe(sha256(bytes));
    await store.close();
  });

  test("putFile reads the local file itself (one buffer reused for every read) and lands exactly its bytes; a missing file leaves nothing", async () => {
    const store = createSftpStore({ ...settings(), folder: `${sshd.folder}/put-file` });
    const local = path.join(folderRoot, "put-file.bin");
    // Larger than one read of 16 requests, with a short last request.
    const data = crypto.randomBytes(9 * 1024 * 1024 + 4321);
    fs.writeFileSync(local, data);
    let progress = 0;
    await store.putFile!("set/data.bin", local, data.length, { onProgress: (bytes) => (progress = bytes) });
    expect(progress).toBe(data.length);
    expect(fs.readFileSync(path.join(sshd.folder, "put-file", "set", "data.bin")).equals(data)).toBe(true);
    // A file that is not the announced size (it grew since its manifest) is refused and not renamed into place.
    expect(await reason(store.putFile!("set/wrong-size.bin", local, data.length - 1))).toBe("refused");
    expect(await reason(store.putFile!("set/missing.bin", path.join(folderRoot, "no-such-file"), 10))).toBe("refused");
    expect(fs.readdirSync(path.join(sshd.folder, "put-file", "set"))).toEqual(["data.bin"]);
    await store.close();
  });

  test("a read back takes its abort listener off the copy's signal once it is read", async () => {
    const store = createSftpStore({ ...settings(), folder: `${sshd.folder}/read-back` });
    const stop = new AbortController();
    const data = crypto.randomBytes(300_000);
    await store.put("set/a.bin", Readable.from([data]), data.length);
    for (let round = 0; round < 3; round += 1) expect((await readAll(await store.get("set/a.bin", { signal: stop.signal }))).equals(data)).toBe(true);
    expect(getEventListeners(stop.signal, "abort")).toHaveLength(0);
    await store.close();
  });

  test("a port nobody listens on is unreachable (retryable)", async () => {
    const store = createSftpStore({ ...settings(), port: 1 });
    const error = await store.stat("x").catch((e: unknown) => e);
    expect((error as RemoteStoreError).reason).toBe("unreachable");
    expect((error as RemoteStoreError).retryable).toBe(true);
    await store.close();
  });
});

describe("inPieces (SFTP write requests)", () => {
  test.each([
    ["reads smaller than a piece", 1000, 300],
    ["reads larger than a piece", 300, 1000],
    ["reads that are whole pieces", 512, 512],
    ["reads of one byte", 1, 7],
  ])("%s: every piece but the last is whole, and the bytes are the body's", async (_name, readSize, pieceSize) => {
    const body = crypto.randomBytes(10_000 + 13);
    const reads: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += readSize) reads.push(body.subarray(offset, offset + readSize));
    const pieces: Buffer[] = [];
    for await (const piece of inPieces(Readable.from(reads), pieceSize)) pieces.push(piece);
    expect(pieces.slice(0, -1).every((piece) => piece.length === pieceSize)).toBe(true);
    expect(pieces.at(-1)!.length).toBeLessThanOrEqual(pieceSize);
    expect(Buffer.concat(pieces).equals(body)).toBe(true);
  });
});

describe("filePieces (SFTP write requests read from a local file)", () => {
  test.each([
    ["a file of whole reads", 8 * 3 * 100, 100, 3],
    ["a file with a short last read and piece", 8 * 3 * 100 + 150, 100, 3],
    ["a file smaller than one piece", 42, 100, 3],
    ["an empty file", 0, 100, 3],
  ])("%s: every piece but the last is whole, and the bytes are the file's", async (_name, bytes, pieceSize, count) => {
    const file = path.join(folderRoot, `pieces-${bytes}.bin`);
    const data = crypto.randomBytes(bytes);
    fs.writeFileSync(file, data);
    const pieces: Buffer[] = [];
    // Copied as they come: the buffer behind them is reused by the next read.
    for await (const piece of filePieces(file, pieceSize, count)) pieces.push(Buffer.from(piece));
    expect(pieces.slice(0, -1).every((piece) => piece.length === pieceSize)).toBe(true);
    expect(pieces.every((piece) => piece.length > 0 && piece.length <= pieceSize)).toBe(true);
    expect(Buffer.concat(pieces).equals(data)).toBe(true);
  });
});
