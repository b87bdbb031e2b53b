import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "@/test/helpers/server";

const TOKEN = "mimir_hdr0123456789abcdef0123456789abcdef0123";
let home: string;
let server: RunningServer;

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-headers-"));
  server = await startServer({
    MIMIR_HOME: home,
    MIMIR_API_TOKEN: TOKEN,
    MIMIR_ADMIN_PASSWORD: "a-long-admin-password",
    MIMIR_ALLOWED_HOSTS: "console.example",
  });
}, 90_000);
afterAll(async () => {
  await server?.stop();
  fs.rmSync(home, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** node:http rather than fetch: fetch can send neither TRACE nor a Host header of its choosing. */
function send(method: string, pathname: string, headers: Record<string, string> = {}): Promise<Answer> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, method, path: pathname, headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on("error", reject);
    request.end();
  });
}

function scriptSrc(policy: string | string[] | undefined): string {
  return String(policy)
    .split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith("script-src"))!;
}

describe("Content-Security-Policy (finding 12)", () => {
  it("gives every page a fresh nonce, puts it on every script Next.js writes, and allows no other inline script", async () => {
    const first = await send("GET", "/login");
    const second = await send("GET", "/login");
    expect(first.status).toBe(200);
    const policy = scriptSrc(first.headers["content-security-policy"]);
    const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy)?.[1];
    expect(nonce).toBeDefined();
    expect(policy).not.toContain("'unsafe-inline'");
    expect(policy).not.toContain("'unsafe-eval'");
    expect(scriptSrc(second.headers["content-security-policy"])).not.toContain(nonce);
    const scripts = first.body.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toContain(`nonce="${nonce}"`);
    // An inline script an attacker managed to inject carries no nonce, so this policy refuses it.
    expect(policy).not.toMatch(/'unsafe-inline'|'unsafe-hashes'|\*/);
  });

  it("keeps the other protections on pages and API answers", async () => {
    for (const pathname of ["/login", "/health", "/api/v1/jobs"]) {
      const answer = await send("GET", pathname);
      expect(answer.headers["content-security-policy"], pathname).toMatch(/frame-ancestors 'none'/);
      expect(answer.headers["content-security-policy"], pathname).toMatch(/object-src 'none'/);
      expect(answer.headers["content-security-policy"], pathname).toMatch(/base-uri 'none'/);
      expect(answer.headers["x-frame-options"], pathname).toBe("DENY");
      expect(answer.headers["x-content-type-options"], pathname).toBe("nosniff");
      expect(answer.headers["referrer-policy"], pathname).toBe("same-origin");
    }
  });
});

describe("small items (finding 16)", () => {
  it("answers TRACE and other unsupported methods with 405 and the error envelope", async () => {
    for (const method of ["TRACE", "PROPFIND"]) {
      for (const pathname of ["/api/v1/jobs", "/login"]) {
        const answer = await send(method, pathname);
        expect(answer.status, `${method} ${pathname}`).toBe(405);
        expect(JSON.parse(answer.body)).toEqual({ error: { code: "method_not_allowed", message: expect.stringContaining(method) } });
      }
    }
    expect(server.output()).not.toContain("HTTP method is unsupported");
  });

  it("marks API answers, refusals included, Cache-Control: no-store", async () => {
    const bearer = { authorization: `Bearer ${TOKEN}` };
    for (const [pathname, headers, status] of [
      ["/api/v1/config", bearer, 200],
      ["/api/v1/tokens", bearer, 200],
      ["/api/v1/config", {}, 401],
    ] as const) {
      const answer = await send("GET", pathname, headers);
      expect(answer.status, pathname).toBe(status);
      expect(answer.headers["cache-control"], pathname).toBe("no-store");
    }
  });
});

describe("allowed hosts (finding 14)", () => {
  it("refuses another Host with 421, a client's own X-Forwarded-Host included, and answers the listed and loopback names", async () => {
    const refused = await send("GET", "/health", { host: "evil.example:3000" });
    expect(refused.status).toBe(421);
    expect(JSON.parse(refused.body).error.code).toBe("host_not_allowed");
    expect((await send("GET", "/login", { host: "evil.example" })).status).toBe(421);
    expect((await send("GET", "/health", { host: "evil.example", "x-forwarded-host": "console.example" })).status).toBe(421);
    expect((await send("GET", "/health", { host: "console.example:8080" })).status).toBe(200);
    expect((await send("GET", "/health", { host: "localhost" })).status).toBe(200);
  });
});

describe("sign-in's way back (issue #12 B12)", () => {
  it("sends a signed-out visit to any dashboard page to sign in with that page and its query as next", async () => {
    for (const page of ["/executions/run-1?step=2", "/pipelines/nightly-sync?tab=history", "/jobs?status=failed&limit=5", "/settings"]) {
      const answer = await send("GET", page);
      expect(answer.status, page).toBe(307);
      expect(answer.headers.location, page).toBe(`/login?next=${encodeURIComponent(page)}`);
    }
  });
});
