/**
 * Passwords, tokens and session ids used against a real server never land in clear in anything it
 * writes: the database (with its WAL), the logs, the config folder. Also: sign-in throttling, per
 * client and per account. Runs against the production build, told it sits behind a proxy
 * (MIMIR_TRUST_PROXY) so each request can speak for a client of its own through X-Forwarded-For.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { callAction, serverActions, startBuiltServer, type ConsoleServer } from "@/test/helpers/console-server";

const ADMIN_PASSWORD = "secret-admin-password-4711";
const ENV_TOKEN = `mimir_${"e".repeat(20)}${"f".repeat(23)}`;
const USER_PASSWORD = "secret-operator-password-0815";
const WEBHOOK_SECRET = "T0PS3CRETW3BH00K";
const CHANNEL_SECRET = "CH4NN3LS3CR3TP4TH";
const SMTP_PASSWORD = "smtp-password-never-in-clear-5521";

let server: ConsoleServer;
const secrets: string[] = [ADMIN_PASSWORD, ENV_TOKEN, USER_PASSWORD];

const signInId = () => serverActions().find((a) => a.exportedName === "signInAction")!.id;

async function signIn(username: string, password: string, ip: string) {
  return callAction(server.url, "/login", signInId(), { username, password }, { "X-Forwarded-For": ip });
}

async function api(method: string, urlPath: string, body?: unknown) {
  return fetch(`${server.url}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${ENV_TOKEN}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(full) : entry.isFile() ? [full] : [];
  });
}

beforeAll(async () => {
  server = await startBuiltServer({ MIMIR_ADMIN_PASSWORD: ADMIN_PASSWORD, MIMIR_API_TOKEN: ENV_TOKEN, MIMIR_LOG_LEVEL: "debug", MIMIR_TRUST_PROXY: "true" });
});

afterAll(async () => {
  await server?.stop();
});

test("strangers cannot lock out admin; a client that failed on it waits; a client's 11th wrong password in a minute is refused unchecked", async () => {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const { result } = await signIn("admin", `wrong-${attempt}`, `10.0.0.${attempt}`);
    expect(result?.error?.code, `attempt ${attempt}`).toBe("unauthorized");
  }
  // The account is under attack: a client that failed on it must wait, even with the right password…
  expect((await signIn("admin", ADMIN_PASSWORD, "10.0.0.1")).result?.error?.code).toBe("rate_limited");
  // …while the real admin, from a client that has not failed, signs in.
  const admin = await signIn("admin", ADMIN_PASSWORD, "10.0.1.1");
  expect(admin.result?.ok).toBe(true);

  for (let attempt = 1; attempt <= 10; attempt++) {
    const { result } = await signIn(`nobody-${attempt}`, "wrong", "10.0.2.1");
    expect(result?.error?.code).toBe("unauthorized");
  }
  expect((await signIn("someone-else", "wrong", "10.0.2.1")).result?.error?.code).toBe("rate_limited");
  // Another client is not held up by that one.
  expect((await signIn("someone-else", "wrong", "10.0.2.2")).result?.error?.code).toBe("unauthorized");
});

test("tokens, passwords and session ids appear nowhere in clear in the database, logs or config", async () => {
  const created = await api("POST", "/api/v1/tokens", { name: "grep-me", scope: "write" });
  expect(created.status).toBe(201);
  const token = ((await created.json()) as { token: string }).token;
  secrets.push(token);
  expect((await api("POST", "/api/v1/users", { username: "operator", password: USER_PASSWORD, role: "viewer" })).status).toBe(201);
  const session = await signIn("operator", USER_PASSWORD, "10.0.3.1");
  expect(session.result?.ok).toBe(true);
  secrets.push(session.setCookie[0]!.split(";")[0]!.split("=")[1]!);
  expect((await fetch(`${server.url}/api/v1/operations`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  // A webhook URL may embed a token: it is stored in config.yaml (that is the setting) but never returned or logged.
  const put = await api("PUT", "/api/v1/config", { storage: { alert_webhook_url: `https://hooks.example.com/services/${WEBHOOK_SECRET}` } });
  expect(put.status).toBe(200);
  const view = await (await api("GET", "/api/v1/config")).text();
  expect(view).not.toContain(WEBHOOK_SECRET);
  expect(view).not.toContain(ENV_TOKEN);
  // Notification channel secrets are sealed in the database, never returned, never logged (a failed test send included).
  secrets.push(CHANNEL_SECRET, SMTP_PASSWORD);
  const slack = await api("POST", "/api/v1/notifications/channels", {
    kind: "slack",
    name: "grep-slack",
    secrets: { webhook_url: `http://127.0.0.1:9/services/${CHANNEL_SECRET}` },
  });
  expect(slack.status).toBe(201);
  const mail = await api("POST", "/api/v1/notifications/channels", {
    kind: "email",
    name: "grep-mail",
    settings: { host: "127.0.0.1", port: 9, username: "ops", from: "mimir@example.com", to: ["ops@example.com"] },
    secrets: { password: SMTP_PASSWORD },
  });
  expect(mail.status).toBe(201);
  const slackId = ((await slack.json()) as { id: string }).id;
  const tested = (await (await api("POST", `/api/v1/notifications/channels/${slackId}/test`)).json()) as { status: string; error: string };
  expect(tested.status).toBe("failed");
  const channels = await (await api("GET", "/api/v1/notifications/channels")).text();
  expect(channels).toContain("grep-mail");
  expect(channels).not.toContain(CHANNEL_SECRET);
  expect(channels).not.toContain(SMTP_PASSWORD);
  expect(await (await api("GET", "/api/v1/notifications/deliveries")).text()).not.toContain(CHANNEL_SECRET);

  await server.stop({ keepHome: true });
  const files = filesUnder(server.home);
  expect(files.some((file) => file.endsWith("mimir.db"))).toBe(true);
  expect(files.some((file) => file.endsWith(".log"))).toBe(true);
  const leaks: string[] = [];
  for (const file of files) {
    const content = fs.readFileSync(file).toString("latin1");
    for (const secret of secrets) if (content.includes(secret)) leaks.push(`${path.relative(server.home, file)} holds ${secret.slice(0, 8)}…`);
    if (!file.endsWith("config.yaml") && content.includes(WEBHOOK_SECRET)) leaks.push(`${path.relative(server.home, file)} holds the webhook secret`);
  }
  for (const secret of [...secrets, WEBHOOK_SECRET]) if (server.output().includes(secret)) leaks.push(`server output holds ${secret.slice(0, 8)}…`);
  expect(leaks).toEqual([]);
  fs.rmSync(server.home, { recursive: true, force: true });
});
