import os from "node:os";
import { describe, expect, it } from "vitest";
import { assertSameOrigin } from "@/lib/auth/request";
import { loadConfig } from "@/lib/config/load";
import { setConfig } from "@/lib/config/service";
import { isAllowedHost } from "@/lib/request-origin";

/** loadConfig reads and writes nothing when no config.yaml exists: the environment alone decides. */
function configure(env: Record<string, string> = {}) {
  const home = os.tmpdir();
  setConfig(loadConfig({ MIMIR_HOME: `${home}/mimir-request-origin-test`, ...env }, home));
}

const URL_SEEN = "http://127.0.0.1:18300/api/v1/scheduler/jobs";
const refused = (headers: Record<string, string>) => {
  try {
    assertSameOrigin(new Headers(headers), URL_SEEN);
    return null;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe("assertSameOrigin without a trusted proxy (the default)", () => {
  it.each([
    ["an attacker's X-Forwarded-Host matching its Origin", { host: "127.0.0.1:18300", origin: "http://evil.example", "x-forwarded-host": "evil.example" }],
    ["https claimed on the plain-HTTP origin", { host: "127.0.0.1:18300", origin: "https://127.0.0.1:18300" }],
    ["https claimed through X-Forwarded-Proto", { host: "127.0.0.1:18300", origin: "https://127.0.0.1:18300", "x-forwarded-proto": "https" }],
    ["another port", { host: "127.0.0.1:18300", origin: "http://127.0.0.1:18301" }],
    ["a user-info trick", { host: "127.0.0.1:18300", origin: "http://127.0.0.1:18300@evil.example" }],
    ["no Origin", { host: "127.0.0.1:18300" }],
    ["a cross-site fetch", { host: "127.0.0.1:18300", origin: "http://127.0.0.1:18300", "sec-fetch-site": "cross-site" }],
  ])("refuses %s", (_label, headers) => {
    configure();
    expect(refused(headers)).toBe("csrf_rejected");
  });

  it("accepts the same scheme, host and port, and a browser's same-origin", () => {
    configure();
    expect(refused({ host: "127.0.0.1:18300", origin: "http://127.0.0.1:18300" })).toBeNull();
    expect(refused({ host: "Console.Example:80", origin: "http://console.example" })).toBeNull();
    expect(refused({ host: "127.0.0.1:18300", "sec-fetch-site": "same-origin" })).toBeNull();
  });
});

describe("assertSameOrigin behind a trusted proxy (server.trust_proxy)", () => {
  it("takes the browser's host and scheme from the proxy's X-Forwarded-Host and -Proto", () => {
    configure({ MIMIR_TRUST_PROXY: "true" });
    const viaProxy = { host: "127.0.0.1:8080", "x-forwarded-host": "mimir.example.com", "x-forwarded-proto": "https" };
    expect(refused({ ...viaProxy, origin: "https://mimir.example.com" })).toBeNull();
    expect(refused({ ...viaProxy, origin: "http://mimir.example.com" })).toBe("csrf_rejected");
    expect(refused({ ...viaProxy, origin: "https://evil.example" })).toBe("csrf_rejected");
  });
});

describe("allowed hosts", () => {
  const allowed = (host: string, extra: Record<string, string> = {}) => isAllowedHost(new Headers({ host, ...extra }), `http://${host}/health`);

  it("answers any host while the list is empty", () => {
    configure();
    expect(allowed("evil.example:18300")).toBe(true);
  });

  it("answers only the listed hosts, and loopback names, once a list is set", () => {
    configure({ MIMIR_ALLOWED_HOSTS: "mimir.example.com, 10.0.0.5:8080" });
    expect(allowed("mimir.example.com")).toBe(true);
    expect(allowed("MIMIR.example.com:8443")).toBe(true);
    expect(allowed("10.0.0.5:8080")).toBe(true);
    expect(allowed("10.0.0.5:9090")).toBe(false);
    expect(allowed("evil.example:18300")).toBe(false);
    expect(allowed("mimir.example.com.evil.example")).toBe(false);
    expect(allowed("localhost:8080")).toBe(true);
    expect(allowed("127.0.0.1:8080")).toBe(true);
    expect(allowed("[::1]:8080")).toBe(true);
    // A client's own X-Forwarded-Host counts for nothing unless a proxy is trusted.
    expect(allowed("evil.example", { "x-forwarded-host": "mimir.example.com" })).toBe(false);
  });

  it("judges the proxy's X-Forwarded-Host when the proxy is trusted", () => {
    configure({ MIMIR_ALLOWED_HOSTS: "mimir.example.com", MIMIR_TRUST_PROXY: "yes" });
    expect(allowed("127.0.0.1:8080", { "x-forwarded-host": "mimir.example.com" })).toBe(true);
    expect(allowed("127.0.0.1:8080", { "x-forwarded-host": "evil.example" })).toBe(false);
  });

  it("refuses a list entry that is not a host name", () => {
    expect(() => configure({ MIMIR_ALLOWED_HOSTS: "http://mimir.example.com/" })).toThrow(/server\.allowed_hosts/);
  });
});
