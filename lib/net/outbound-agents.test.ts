import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createOutboundAgents } from "@/lib/net/outbound";

/**
 * The Node agents the AWS SDK is given (lib/net/outbound.ts createOutboundAgents): every connection is
 * checked by the outbound guard, and over TLS the certificate is still checked against the name the
 * caller gave while the socket goes to the checked address. Real servers on loopback, a throwaway
 * certificate for "localhost" made by openssl for this run.
 */
let root: TestDataRoot;
let dir: string;
let allowedHttps: https.Server;
let deniedHttp: http.Server;
let ca: Buffer;
const agents = createOutboundAgents();

async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

function get(url: string, options: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = (url.startsWith("https:") ? https : http).get(url, options, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-tls-"));
  const key = path.join(dir, "key.pem");
  const cert = path.join(dir, "cert.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert, "-days", "1"].concat([
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost",
    ]),
    { stdio: "ignore" },
  );
  ca = fs.readFileSync(cert);
  allowedHttps = https.createServer({ key: fs.readFileSync(key), cert: ca }, (request, response) => response.end(`tls ${request.headers.host}`));
  deniedHttp = http.createServer((_request, response) => response.end("SHOULD NOT BE READ"));
  const tlsPort = await listen(allowedHttps);
  await listen(deniedHttp);
  root = createTestDataRoot({ MIMIR_ALLOWED_DESTINATIONS: `localhost:${tlsPort}, 127.0.0.1:${tlsPort}` });
});
afterAll(async () => {
  agents.http.destroy();
  agents.https.destroy();
  await new Promise((resolve) => allowedHttps.close(resolve));
  await new Promise((resolve) => deniedHttp.close(resolve));
  root.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("createOutboundAgents", () => {
  test("an allowed https destination is reached by name, with the certificate checked against that name", async () => {
    const port = (allowedHttps.address() as AddressInfo).port;
    const answer = await get(`https://localhost:${port}/`, { agent: agents.https, ca });
    expect(answer).toEqual({ status: 200, body: `tls localhost:${port}` });
  });

  test("the certificate is still checked: an unknown issuer, or a certificate for another name, is refused", async () => {
    const port = (allowedHttps.address() as AddressInfo).port;
    await expect(get(`https://localhost:${port}/`, { agent: agents.https })).rejects.toThrow(/self-signed|certificate/i);
    // Trusted issuer, allowed address, but the certificate names localhost, not 127.0.0.1.
    await expect(get(`https://127.0.0.1:${port}/`, { agent: agents.https, ca })).rejects.toMatchObject({ code: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  test("a loopback destination that is not allowed is refused before connecting, over http and https", async () => {
    const port = (deniedHttp.address() as AddressInfo).port;
    await expect(get(`http://127.0.0.1:${port}/`, { agent: agents.http })).rejects.toMatchObject({ code: "destination_forbidden" });
    await expect(get(`https://127.0.0.1:${port}/`, { agent: agents.https, ca })).rejects.toMatchObject({ code: "destination_forbidden" });
  });
});
