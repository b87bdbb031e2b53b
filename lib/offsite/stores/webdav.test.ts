import fs from "node:fs";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { freePort, startTestWebDavServer, type TestServer } from "@/test/helpers/offsite-servers";
import { gatedBody, generatedBody, listAll, sha256Of, until } from "@/test/helpers/remote-store-checks";
import { createWebDavStore, type WebDavSettings } from "@/lib/offsite/stores/webdav";
import { RemoteStoreError, type RemoteStore } from "@/lib/offsite/store";
import { PARTIAL_MARK } from "@/lib/offsite/stores/folder";

/**
 * The WebDAV kind against Apache httpd + mod_dav_fs started by the test on loopback (as root, workers
 * as www-data), and a second one on a 6 MiB tmpfs in a private mount namespace for the full disk.
 * The outbound guard is on: both ports are allowed as an operator would allow a NAS.
 */
const MIB = 1024 * 1024;
let server: TestServer<WebDavSettings>;
let small: TestServer<WebDavSettings>;
let rclone: TestServer<WebDavSettings>;
let root: TestDataRoot;

function store(overrides: Partial<WebDavSettings> = {}, on = server): RemoteStore {
  return createWebDavStore({ ...on.settings, ...overrides });
}

async function failure(promise: Promise<unknown>): Promise<RemoteStoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteStoreError);
  return error as RemoteStoreError;
}

/** Every file under the served folder, as Apache keeps them (temporary names included). */
function filesOnDisk(dir: string, prefix = ""): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesOnDisk(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`]));
}

beforeAll(async () => {
  server = await startTestWebDavServer();
  small = await startTestWebDavServer({ sizeLimit: "6m" });
  rclone = await startTestWebDavServer({ implementation: "rclone" });
  root = createTestDataRoot({ MIMIR_ALLOWED_DESTINATIONS: `${server.allow}, ${small.allow}, ${rclone.allow}` });
});
afterAll(async () => {
  await server?.stop();
  await small?.stop();
  await rclone?.stop();
  root?.cleanup();
});

describe("WebDAV store against Apache mod_dav", () => {
  test("a 12 MiB streamed object round-trips in nested folders (created with MKCOL); stat, list and delete agree", async () => {
    const dav = store();
    const body = generatedBody(12 * MIB + 7, "dav");
    const progress: number[] = [];
    const key = "mimir-backup-2026-12-03T08-00-00Z/data/deep/archive.tar";
    await dav.put(key, body.stream(), 12 * MIB + 7, { onProgress: (bytes) => progress.push(bytes) });
    expect(progress.at(-1)).toBe(12 * MIB + 7);
    expect(await dav.stat(key)).toMatchObject({ key, size: 12 * MIB + 7 });
    expect((await dav.stat(key))!.modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await sha256Of(await dav.get(key))).toEqual({ sha256: body.sha256, size: 12 * MIB + 7 });

    // Replacing an object and a name that needs escaping.
    await dav.put("mimir-backup-2026-12-03T08-00-00Z/manifest.json", Readable.from([Buffer.from("first")]), 5);
    await dav.put("mimir-backup-2026-12-03T08-00-00Z/manifest.json", Readable.from([Buffer.from("second")]), 6);
    await dav.put("other set/a file#1%.txt", Readable.from([Buffer.from("x")]), 1);
    await dav.put("other set/çà-日本語.txt", Readable.from([Buffer.from("yz")]), 2);
    expect((await sha256Of(await dav.get("mimir-backup-2026-12-03T08-00-00Z/manifest.json"))).size).toBe(6);

    expect((await listAll(dav)).map((o) => [o.key, o.size])).toEqual([
      ["mimir-backup-2026-12-03T08-00-00Z/data/deep/archive.tar", 12 * MIB + 7],
      ["mimir-backup-2026-12-03T08-00-00Z/manifest.json", 6],
      ["other set/a file#1%.txt", 1],
      ["other set/çà-日本語.txt", 2],
    ]);
    expect((await listAll(dav, "mimir-backup-2026-12-03T08-00-00Z/data/")).map((o) => o.key)).toEqual([key]);
    expect((await listAll(dav, "other")).map((o) => o.key)).toEqual(["other set/a file#1%.txt", "other set/çà-日本語.txt"]);
    expect(await listAll(dav, "nothing/")).toEqual([]);
    // No temporary upload names were left behind on the server.
    expect(filesOnDisk(server.dataDir).filter((name) => name.includes(PARTIAL_MARK))).toEqual([]);

    await dav.delete(key);
    await dav.delete(key); // already gone: still fine
    expect(await dav.stat(key)).toBeNull();
    expect((await failure(dav.get(key))).reason).toBe("not-found");
  });

  test("a store rooted in a sub-folder sees keys relative to it", async () => {
    await store().put("team-a/prod/x.bin", Readable.from([Buffer.from("abc")]), 3);
    const rooted = store({ url: server.settings.url + "team-a/prod" });
    expect((await listAll(rooted)).map((o) => [o.key, o.size])).toEqual([["x.bin", 3]]);
    await rooted.put("y/z.bin", Readable.from([Buffer.from("z")]), 1);
    expect(await store().stat("team-a/prod/y/z.bin")).toMatchObject({ size: 1 });
    expect((await failure(store({ url: server.settings.url + "no-such-folder/" }).put("k", Readable.from([Buffer.from("k")]), 1))).reason).toBe("not-found");
  });

  test("missing objects: stat null, get not-found; bad keys refused before any request", async () => {
    const dav = store();
    expect(await dav.stat("no/such/object")).toBeNull();
    expect((await failure(dav.get("no/such/object"))).reason).toBe("not-found");
    for (const bad of ["", "/abs", "a//b", "a/../b"]) expect((await failure(dav.stat(bad))).reason).toBe("refused");
  });

  test("a wrong password is auth (not retryable) for put, get, stat and list, and the upload never starts", async () => {
    const wrong = store({ password: "not-the-password" });
    let sent = 0;
    const error = await failure(wrong.put("k.bin", generatedBody(MIB).stream(), MIB, { onProgress: (bytes) => (sent = bytes) }));
    expect(error.reason).toBe("auth");
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain("not-the-password");
    expect(sent).toBe(0);
    expect((await failure(wrong.get("k.bin"))).reason).toBe("auth");
    expect((await failure(wrong.stat("k.bin"))).reason).toBe("auth");
    expect((await failure(listAll(wrong))).reason).toBe("auth");
    expect((await failure(store({ username: undefined, password: undefined }).stat("k.bin"))).reason).toBe("auth");
  });

  test("a destination the outbound guard does not allow is refused", async () => {
    const error = await failure(store({ url: `http://127.0.0.1:${await freePort()}/dav/` }).stat("k"));
    expect(error.reason).toBe("refused");
    expect(error.message).toContain("not an allowed destination");
  });

  test("an empty object goes up and comes back empty", async () => {
    const dav = store();
    await dav.put("empty/e.log", Readable.from([]), 0);
    expect(await dav.stat("empty/e.log")).toMatchObject({ size: 0 });
    expect(await sha256Of(await dav.get("empty/e.log"))).toMatchObject({ size: 0 });
  });

  test("a body shorter than announced is refused and leaves nothing at the key", async () => {
    const dav = store();
    expect((await failure(dav.put("short/s.bin", Readable.from([Buffer.alloc(100)]), 200))).reason).toBe("refused");
    expect(await dav.stat("short/s.bin")).toBeNull();
  });

  test("a slow but steady upload outlives the idle timeout; a stalled one is given up as unreachable with nothing at the key", async () => {
    const dav = createWebDavStore(server.settings, { idleTimeoutMs: 400 });
    // 16 chunks 100 ms apart: 1.6 s in all, four times the idle timeout, never idle for long.
    const steady = Readable.from(
      (async function* () {
        for (let i = 0; i < 16; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          yield Buffer.alloc(1024, i);
        }
      })(),
    );
    await dav.put("slow/steady.bin", steady, 16 * 1024);
    expect(await dav.stat("slow/steady.bin")).toMatchObject({ size: 16 * 1024 });

    const stalled = gatedBody(MIB, 64 * 1024);
    const error = await failure(dav.put("slow/stalled.bin", stalled.stream, MIB));
    stalled.release();
    expect(error.reason).toBe("unreachable");
    expect(error.message).toContain("no byte moved");
    expect(await dav.stat("slow/stalled.bin")).toBeNull();
    expect((await listAll(dav, "slow/")).map((o) => o.key)).toEqual(["slow/steady.bin"]);
  });

  test("a server that hangs mid-upload (accepts, answers nothing) is given up as unreachable; nothing at the key once it runs again", async () => {
    const dav = createWebDavStore(server.settings, { idleTimeoutMs: 1000 });
    const body = gatedBody(64 * MIB, 2 * MIB);
    let sent = 0;
    // Its failure is taken at once: the put may reject while the test is still killing or freezing the server.
    const put = failure(dav.put("hung/big.bin", body.stream, 64 * MIB, { onProgress: (bytes) => (sent = bytes) }));
    await until(() => sent >= 2 * MIB, "the upload to be under way");
    server.freeze();
    body.release();
    const error = await put;
    server.thaw();
    expect(error.reason).toBe("unreachable");
    expect(error.retryable).toBe(true);
    expect(await dav.stat("hung/big.bin")).toBeNull();
    expect((await listAll(dav, "hung/")).map((o) => o.key)).toEqual([]);
  });

  test("a full remote disk is full, and neither the key nor a temporary upload stays behind", async () => {
    const dav = store({}, small);
    await dav.put("fits.bin", generatedBody(MIB).stream(), MIB);
    const error = await failure(dav.put("set/too-big.bin", generatedBody(12 * MIB, "big").stream(), 12 * MIB));
    expect(error.reason).toBe("full");
    expect(error.retryable).toBe(false);
    expect(await dav.stat("set/too-big.bin")).toBeNull();
    expect((await listAll(dav)).map((o) => o.key)).toEqual(["fits.bin"]);
    // The server is usable again at once: the space the failed upload took was given back.
    await dav.put("set/after.bin", generatedBody(2 * MIB).stream(), 2 * MIB);
    expect(await dav.stat("set/after.bin")).toMatchObject({ size: 2 * MIB });
  });

  test("the server killed mid-upload: the put rejects as unreachable (retryable) and, once it is back, nothing is at the key", async () => {
    const dav = store();
    const body = gatedBody(12 * MIB, 4 * MIB);
    let sent = 0;
    const put = failure(dav.put("killed/big.bin", body.stream, 12 * MIB, { onProgress: (bytes) => (sent = bytes) }));
    await until(() => sent >= 2 * MIB, "the upload to be under way");
    await server.kill();
    body.release();
    const error = await put;
    expect(error.reason).toBe("unreachable");
    expect(error.retryable).toBe(true);
    expect((await failure(dav.stat("killed/big.bin"))).reason).toBe("unreachable");
    await server.restart();
    expect(await dav.stat("killed/big.bin")).toBeNull();
    expect(filesOnDisk(server.dataDir).filter((name) => name.startsWith("killed/big.bin"))).toEqual([]);
    expect((await listAll(dav, "killed/")).map((o) => o.key)).toEqual([]);
    await dav.put("killed/again.bin", Readable.from([Buffer.from("ok")]), 2);
    expect(await dav.stat("killed/again.bin")).toMatchObject({ size: 2 });
  });
});

describe("WebDAV store against rclone serve webdav (a second implementation)", () => {
  test("round trip in nested folders, replace, list, delete, not-found and a wrong password", async () => {
    const dav = store({}, rclone);
    const body = generatedBody(6 * MIB + 3, "rclone");
    await dav.put("set-r/data/archive.tar", body.stream(), 6 * MIB + 3);
    expect(await sha256Of(await dav.get("set-r/data/archive.tar"))).toEqual({ sha256: body.sha256, size: 6 * MIB + 3 });
    await dav.put("set-r/manifest.json", Readable.from([Buffer.from("one")]), 3);
    await dav.put("set-r/manifest.json", Readable.from([Buffer.from("three")]), 5);
    expect((await listAll(dav)).map((o) => [o.key, o.size])).toEqual([
      ["set-r/data/archive.tar", 6 * MIB + 3],
      ["set-r/manifest.json", 5],
    ]);
    expect(filesOnDisk(rclone.dataDir).sort()).toEqual(["set-r/data/archive.tar", "set-r/manifest.json"]);
    await dav.delete("set-r/data/archive.tar");
    await dav.delete("set-r/data/archive.tar");
    expect(await dav.stat("set-r/data/archive.tar")).toBeNull();
    expect((await failure(dav.get("set-r/data/archive.tar"))).reason).toBe("not-found");
    expect((await failure(store({ password: "wrong" }, rclone).stat("set-r/manifest.json"))).reason).toBe("auth");
  });
});
