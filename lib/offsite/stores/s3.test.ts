import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { freePort, startTestS3Server, type TestServer } from "@/test/helpers/offsite-servers";
import { gatedBody, generatedBody, listAll, sha256Of, until } from "@/test/helpers/remote-store-checks";
import { createS3Store, type S3Settings } from "@/lib/offsite/stores/s3";
import { RemoteStoreError, type RemoteStore } from "@/lib/offsite/store";

/**
 * The S3 kind against a real S3 server (s3rver, in its own process) on loopback: streamed multipart
 * round trips, prefixes, listing, the error mapping, and the server killed mid-upload. The outbound
 * guard is on: the server's port is allowed the way an operator would allow a LAN MinIO.
 */
const MIB = 1024 * 1024;
let server: TestServer<S3Settings>;
let root: TestDataRoot;
const stores: RemoteStore[] = [];

function store(overrides: Partial<S3Settings> = {}): RemoteStore {
  const created = createS3Store({ ...server.settings, ...overrides }, { partSize: 5 * MIB, queueSize: 2 });
  stores.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<RemoteStoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteStoreError);
  return error as RemoteStoreError;
}

/**
 * A loopback HTTP server that answers every request with one S3 error document, exactly as AWS words
 * them: the mapping of the answers s3rver cannot give (a wrong signature, a full quota, throttling).
 */
let answer = { status: 500, code: "InternalError" };
const seen: string[] = [];
const answering = { server: null as http.Server | null, port: 0 };

beforeAll(async () => {
  server = await startTestS3Server();
  answering.server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      const url = new URL(request.url!, "http://x");
      seen.push(`${request.method} ${url.search}`);
      const xml = (status: number, body: string) => {
        response.writeHead(status, { "content-type": "application/xml", "x-amz-request-id": "test", etag: '"etag"' });
        response.end(`<?xml version="1.0" encoding="UTF-8"?>\n${body}`);
      };
      // In multipart mode it speaks just enough S3 for lib-storage to start an upload, then fails part 2.
      if (answer.code === "multipart") {
        if (request.method === "POST" && url.searchParams.has("uploads"))
          return xml(200, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>");
        if (request.method === "PUT" && url.searchParams.get("partNumber") === "1") return xml(200, "");
        if (request.method === "DELETE" && url.searchParams.get("uploadId") === "U1") {
          response.writeHead(204).end();
          return;
        }
        return xml(500, "<Error><Code>InternalError</Code><Message>part refused</Message></Error>");
      }
      xml(answer.status, `<Error><Code>${answer.code}</Code><Message>as the service words it</Message><RequestId>test</RequestId></Error>`);
    });
  });
  await new Promise<void>((resolve) => answering.server!.listen(0, "127.0.0.1", resolve));
  answering.port = (answering.server.address() as AddressInfo).port;
  root = createTestDataRoot({ MIMIR_ALLOWED_DESTINATIONS: `${server.allow}, 127.0.0.1:${answering.port}` });
});
afterAll(async () => {
  await new Promise((resolve) => answering.server?.close(resolve));
  for (const s of stores) await s.close();
  await server?.stop();
  root?.cleanup();
});

describe("S3 store against s3rver", () => {
  test("a 12 MiB streamed object goes up in several parts and comes back byte for byte; stat, list and delete agree", async () => {
    const s3 = store({ prefix: "round-trip" });
    const body = generatedBody(12 * MIB + 123, "round-trip");
    const progress: number[] = [];
    await s3.put("set-1/data/archive.tar", body.stream(), 12 * MIB + 123, { onProgress: (bytes) => progress.push(bytes) });
    // Three parts of 5 MiB at most: the progress climbs to the full size.
    expect(progress.at(-1)).toBe(12 * MIB + 123);
    expect(await s3.stat("set-1/data/archive.tar")).toMatchObject({ key: "set-1/data/archive.tar", size: 12 * MIB + 123 });
    const read: number[] = [];
    const back = await sha256Of(await s3.get("set-1/data/archive.tar", { onProgress: (bytes) => read.push(bytes) }));
    expect(back).toEqual({ sha256: body.sha256, size: 12 * MIB + 123 });
    expect(read.at(-1)).toBe(12 * MIB + 123);

    await s3.put("set-1/manifest.json", Readable.from([Buffer.from('{"ok":true}')]), 11);
    const listed = await listAll(s3, "set-1/");
    expect(listed.map((o) => [o.key, o.size])).toEqual([
      ["set-1/data/archive.tar", 12 * MIB + 123],
      ["set-1/manifest.json", 11],
    ]);
    expect(listed[0]!.modifiedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    await s3.delete("set-1/data/archive.tar");
    await s3.delete("set-1/data/archive.tar"); // already gone: still fine
    expect(await s3.stat("set-1/data/archive.tar")).toBeNull();
    expect((await listAll(s3)).map((o) => o.key)).toEqual(["set-1/manifest.json"]);
  });

  test("prefixes keep destinations apart in one bucket, and keys are relative to the prefix", async () => {
    const a = store({ prefix: "/site-a/" });
    const b = store({ prefix: "site-b/nested" });
    const whole = store({ prefix: "" });
    await a.put("x/one.txt", Readable.from([Buffer.from("A")]), 1);
    await b.put("x/one.txt", Readable.from([Buffer.from("BB")]), 2);
    expect((await listAll(a)).map((o) => [o.key, o.size])).toEqual([["x/one.txt", 1]]);
    expect((await listAll(b)).map((o) => [o.key, o.size])).toEqual([["x/one.txt", 2]]);
    const everything = (await listAll(whole)).map((o) => o.key);
    expect(everything).toContain("site-a/x/one.txt");
    expect(everything).toContain("site-b/nested/x/one.txt");
    // A prefix that is a partial name matches like S3's own.
    expect((await listAll(whole, "site-")).length).toBeGreaterThanOrEqual(2);
    expect(await listAll(a, "y/")).toEqual([]);
    // Names outside ASCII, with spaces and signs, keep their spelling.
    await a.put("ü set/çà #1%+日本.txt", Readable.from([Buffer.from("u")]), 1);
    expect((await listAll(a, "ü")).map((o) => o.key)).toEqual(["ü set/çà #1%+日本.txt"]);
    expect(await sha256Of(await a.get("ü set/çà #1%+日本.txt"))).toMatchObject({ size: 1 });
  });

  test("list follows ListObjectsV2 continuation pages", async () => {
    const paged = createS3Store({ ...server.settings, prefix: "paged" }, { listPageSize: 2 });
    stores.push(paged);
    const keys = ["a/1", "a/2", "a/3", "b/4", "b/5"];
    for (const key of keys) await paged.put(key, Readable.from([Buffer.from(key)]), key.length);
    expect((await listAll(paged)).map((o) => o.key)).toEqual(keys);
    expect((await listAll(paged, "a/")).map((o) => o.key)).toEqual(["a/1", "a/2", "a/3"]);
  });

  test("a missing object is not-found for get and null for stat; bad keys are refused before any request", async () => {
    const s3 = store({ prefix: "missing" });
    expect(await s3.stat("nothing/here")).toBeNull();
    expect((await failure(s3.get("nothing/here"))).reason).toBe("not-found");
    for (const bad of ["", "/abs", "a//b", "a/../b", "./a"]) expect((await failure(s3.stat(bad))).reason).toBe("refused");
  });

  test("an unknown access key is auth, not retryable, and the message carries no secret", async () => {
    const stranger = store({ accessKeyId: "NOBODY", secretAccessKey: "a-secret-of-nobody" });
    const error = await failure(stranger.put("k.txt", Readable.from([Buffer.from("x")]), 1));
    expect(error.reason).toBe("auth");
    expect(error.retryable).toBe(false);
    expect(error.message).not.toContain("a-secret-of-nobody");
    expect((await failure(stranger.stat("k.txt"))).reason).toBe("auth");
    expect((await failure(listAll(stranger))).reason).toBe("auth");
    // s3rver does not check V4 signatures, so a wrong secret is proven against the answers below.
  });

  test.each([
    [403, "SignatureDoesNotMatch", "auth"],
    [403, "AccessDenied", "auth"],
    [400, "EntityTooLarge", "full"],
    [507, "XMinioStorageFull", "full"],
    [403, "QuotaExceeded", "full"],
    [503, "SlowDown", "unreachable"],
    [404, "NoSuchBucket", "refused"],
    [400, "InvalidArgument", "refused"],
  ])("an S3 error answer %i %s maps to %s", async (status, code, reason) => {
    answer = { status, code };
    const s3 = store({ endpoint: `http://127.0.0.1:${answering.port}` });
    const error = await failure(s3.put("k.txt", Readable.from([Buffer.from("x")]), 1));
    expect(error.reason).toBe(reason);
    expect(error.message).toContain(code);
  });

  test("a multipart upload that fails is aborted on the server (AbortMultipartUpload sent), so no parts stay behind", async () => {
    // s3rver implements neither AbortMultipartUpload nor ListMultipartUploads: this is shown against the answering server.
    answer = { status: 0, code: "multipart" };
    seen.length = 0;
    const s3 = store({ endpoint: `http://127.0.0.1:${answering.port}` });
    const error = await failure(s3.put("big.bin", generatedBody(12 * MIB).stream(), 12 * MIB));
    expect(error.reason).toBe("unreachable");
    expect(seen).toContain("POST ?uploads=");
    expect(seen).toContain("DELETE ?uploadId=U1&x-id=AbortMultipartUpload");
    expect(seen.filter((line) => line.includes("CompleteMultipartUpload"))).toEqual([]);
  });

  test("a destination the outbound guard does not allow is refused before a connection is made", async () => {
    const port = await freePort();
    const error = await failure(store({ endpoint: `http://127.0.0.1:${port}` }).stat("k"));
    expect(error.reason).toBe("refused");
    expect(error.message).toContain("not an allowed destination");
  });

  test("an abort mid-upload rejects as aborted and leaves no object at the key", async () => {
    const s3 = store({ prefix: "abort" });
    const body = gatedBody(15 * MIB, 6 * MIB);
    const controller = new AbortController();
    let sent = 0;
    // Its failure is taken at once: the put may reject while the test is still killing or freezing the server.
    const put = failure(s3.put("set/big.bin", body.stream, 15 * MIB, { signal: controller.signal, onProgress: (bytes) => (sent = bytes) }));
    await until(() => sent >= 5 * MIB, "the first part to be sent");
    controller.abort();
    body.release();
    expect((await put).reason).toBe("aborted");
    expect(await s3.stat("set/big.bin")).toBeNull();
  });

  test("the server killed mid-upload: the put rejects as unreachable (retryable) and, once it is back, no object is at the key", async () => {
    const s3 = store({ prefix: "kill" });
    const body = gatedBody(15 * MIB, 6 * MIB);
    let sent = 0;
    const put = failure(s3.put("set/big.bin", body.stream, 15 * MIB, { onProgress: (bytes) => (sent = bytes) }));
    await until(() => sent >= 5 * MIB, "the first part to be sent");
    await server.kill();
    body.release();
    const error = await put;
    expect(error.reason).toBe("unreachable");
    expect(error.retryable).toBe(true);
    // While it is down every operation is unreachable too.
    expect((await failure(s3.stat("set/big.bin"))).reason).toBe("unreachable");
    await server.restart();
    expect(await s3.stat("set/big.bin")).toBeNull();
    expect(await listAll(s3)).toEqual([]);
    // And the same store works again once the server is back.
    await s3.put("set/small.bin", Readable.from([Buffer.alloc(10)]), 10);
    expect(await s3.stat("set/small.bin")).toMatchObject({ size: 10 });
  });

  test("an empty object goes up and comes back empty", async () => {
    const s3 = store({ prefix: "empty" });
    await s3.put("set/empty.log", Readable.from([]), 0);
    expect(await s3.stat("set/empty.log")).toMatchObject({ size: 0 });
    expect(await sha256Of(await s3.get("set/empty.log"))).toMatchObject({ size: 0 });
  });

  test("a server that hangs mid-upload (accepts, answers nothing) is given up as unreachable after the idle timeout; no object at the key", async () => {
    const s3 = createS3Store({ ...server.settings, prefix: "hung" }, { partSize: 5 * MIB, queueSize: 1, idleTimeoutMs: 1000 });
    stores.push(s3);
    const body = gatedBody(15 * MIB, 6 * MIB);
    let sent = 0;
    const put = failure(s3.put("set/big.bin", body.stream, 15 * MIB, { onProgress: (bytes) => (sent = bytes) }));
    await until(() => sent >= 5 * MIB, "the first part to be sent");
    server.freeze();
    body.release();
    const error = await put;
    server.thaw();
    expect(error.reason).toBe("unreachable");
    expect(error.retryable).toBe(true);
    expect(await s3.stat("set/big.bin")).toBeNull();
  });

  test("a body shorter than announced is refused and leaves no object", async () => {
    const s3 = store({ prefix: "short" });
    const error = await failure(s3.put("short.bin", Readable.from([Buffer.alloc(100)]), 200));
    expect(error.reason).toBe("refused");
    expect(await s3.stat("short.bin")).toBeNull();
  });
});
