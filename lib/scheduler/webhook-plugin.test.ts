import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { webhookPlugin } from "@/lib/scheduler/webhook-plugin";
import { isPublicAddress, outboundFetch, resolveAllowedDestination } from "@/lib/net/outbound";
import { parseAllowEntry } from "@/lib/config/allow-list";

/**
 * Finding 3 (SSRF through System.webhook): the step reaches only allowed destinations, never follows a
 * redirect, keeps the answer's body out of its output unless asked, and its errors cannot tell an
 * open port from a closed one. Real receivers on loopback; the allow-list opens exactly one port.
 */
let root: TestDataRoot;
let allowedPort: number;
let deniedPort: number;
let closedAllowedPort: number;
const hits: string[] = [];
const servers: http.Server[] = [];

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, "127.0.0.1");
  await new Promise((resolve) => probe.once("listening", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  allowedPort = await listen((request, response) => {
    hits.push(`allowed ${request.method} ${request.url}`);
    if (request.url === "/redirect") {
      response.writeHead(302, { Location: `http://127.0.0.1:${deniedPort}/after-redirect` }).end();
      return;
    }
    response.end(`RECEIVER got ${request.method} ${request.url}`);
  });
  deniedPort = await listen((request, response) => {
    hits.push(`denied ${request.method} ${request.url}`);
    response.end("SHOULD NOT BE READ");
  });
  closedAllowedPort = await freePort();
  root = createTestDataRoot({ MIMIR_ALLOWED_DESTINATIONS: `127.0.0.1:${allowedPort}, 127.0.0.1:${closedAllowedPort}` });
});
afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  root.cleanup();
});

async function runStep(config: Record<string, unknown>) {
  const lines: string[] = [];
  const context = {
    executionId: "e1",
    jobId: "j1",
    pipeline: "p",
    stepName: "ping",
    signal: new AbortController().signal,
    log: (line: string) => lines.push(line),
  };
  const outcome = await webhookPlugin.run(webhookPlugin.configSchema.parse(config), context as unknown as Parameters<typeof webhookPlugin.run>[1]).then(
    (output) => ({ output, error: null }),
    (error: Error) => ({ output: null, error: error.message }),
  );
  return { ...outcome, log: lines.join("\n") };
}

describe("System.webhook through the outbound guard", () => {
  test.each([
    ["decimal IPv4", "http://2130706433:PORT/decimal-ip"],
    ["hex IPv4", "http://0x7f000001:PORT/hex-ip"],
    ["octal IPv4", "http://0177.0.0.1:PORT/octal-ip"],
    ["IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]:PORT/v6mapped"],
    ["0.0.0.0", "http://0.0.0.0:PORT/zero"],
    ["localhost", "http://localhost:PORT/x"],
    ["::1", "http://[::1]:PORT/x"],
    ["another loopback address", "http://127.0.0.2:PORT/x"],
  ])("a loopback destination spelled as %s is refused before any connection", async (_label, template) => {
    const open = await runStep({ url: template.replace("PORT", String(deniedPort)), method: "GET" });
    const closed = await runStep({ url: template.replace("PORT", String(closedAllowedPort + 1)), method: "GET" });
    expect(open.error).toContain("is not an allowed destination");
    // An open and a closed port of a denied range give the same words: no port scan through the step.
    expect(closed.error!.replace(String(closedAllowedPort + 1), "N")).toBe(open.error!.replace(String(deniedPort), "N"));
    expect(hits.filter((hit) => hit.startsWith("denied"))).toEqual([]);
  });

  test.each(["169.254.169.254", "10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "224.0.0.1", "[fe80::1]", "[fd00::1]", "[::]"])(
    "%s is refused",
    async (host) => {
      const { error } = await runStep({ url: `http://${host}:80/latest/meta-data`, method: "GET" });
      expect(error).toContain("is not an allowed destination");
    },
  );

  test("an allowed destination is called; the answer's body stays out of the output unless capture_response is set", async () => {
    const plain = await runStep({ url: `http://127.0.0.1:${allowedPort}/hooks/secret-path`, method: "GET" });
    expect(plain.error).toBeNull();
    expect(plain.output).toEqual({ status: 200 });
    expect(plain.log).not.toContain("secret-path");
    const captured = await runStep({ url: `http://127.0.0.1:${allowedPort}/captured`, method: "GET", capture_response: true });
    expect(captured.output).toEqual({ status: 200, response: "RECEIVER got GET /captured" });
    expect(hits).toContain("allowed GET /hooks/secret-path");
  });

  test("a redirect is not followed: the step fails with the 3xx and the target is never called", async () => {
    const { error } = await runStep({ url: `http://127.0.0.1:${allowedPort}/redirect`, method: "GET" });
    expect(error).toBe(`127.0.0.1:${allowedPort} answered HTTP 302`);
    expect(hits.some((hit) => hit.includes("after-redirect"))).toBe(false);
  });

  test("an allowed destination that does not answer fails with one generic reason, by host only", async () => {
    const { error, log } = await runStep({ url: `http://127.0.0.1:${closedAllowedPort}/hooks/secret-path` });
    expect(error).toBe(`127.0.0.1:${closedAllowedPort} could not be reached`);
    expect(log).not.toContain("secret-path");
  });
});

describe("the outbound guard", () => {
  test.each([
    ["127.0.0.1", false],
    ["::ffff:10.1.2.3", false],
    ["64:ff9b::7f00:1", false],
    ["2002:7f00:1::", false],
    ["fec0::1", false],
    ["255.255.255.255", false],
    ["8.8.8.8", true],
    ["2606:4700::1111", true],
  ])("isPublicAddress(%s) is %s", (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  test("resolveAllowedDestination checks names after resolution and honours host, address and CIDR entries with ports", async () => {
    await expect(resolveAllowedDestination("localhost", allowedPort + 1)).rejects.toMatchObject({ code: "destination_forbidden", status: 403 });
    await expect(resolveAllowedDestination("2130706433", 25)).rejects.toMatchObject({ code: "destination_forbidden" });
    expect(await resolveAllowedDestination("127.0.0.1", allowedPort)).toEqual({ address: "127.0.0.1", family: 4 });
    expect(await resolveAllowedDestination("8.8.8.8", 53)).toEqual({ address: "8.8.8.8", family: 4 });
  });

  test("outboundFetch refuses other schemes and maps a refused destination to the AppError", async () => {
    await expect(outboundFetch("file:///etc/passwd")).rejects.toMatchObject({ code: "destination_forbidden" });
    await expect(outboundFetch(`http://127.0.0.1:${deniedPort}/`)).rejects.toMatchObject({ code: "destination_forbidden" });
    expect((await outboundFetch(`http://127.0.0.1:${allowedPort}/direct`, { timeoutMs: 5000 })).status).toBe(200);
  });

  test.each([
    ["hooks.internal", { kind: "host", name: "hooks.internal", port: null }],
    ["hooks.internal:8443", { kind: "host", name: "hooks.internal", port: 8443 }],
    ["[::1]:9000", { kind: "range", port: 9000 }],
    ["10.0.0.0/8", { kind: "range", port: null }],
    ["192.168.1.0/24:8080", { kind: "range", port: 8080 }],
  ])("allow-list entry %s", (entry, expected) => {
    expect(parseAllowEntry(entry)).toMatchObject(expected);
  });

  test.each(["10.0.0.0/99", "host:99999", "bad host", "http://x"])("allow-list entry %s is refused", (entry) => {
    expect(() => parseAllowEntry(entry)).toThrow();
  });
});
