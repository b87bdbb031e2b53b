import http from "node:http";
import { test, expect } from "./fixtures";
import { E2E_ADMIN, E2E_BASE_URL, E2E_PORT } from "./env";
import { serverActionId } from "./server-actions";

/**
 * A hostile page on a second local origin (another port on 127.0.0.1: same site, so the browser
 * sends the admin's SameSite=Strict cookie along) tries to make the signed-in admin's browser
 * create tokens. Every attempt must be refused and create nothing.
 */
const HOSTILE_PORT = E2E_PORT + 1;
const HOSTILE = `http://127.0.0.1:${HOSTILE_PORT}`;

function hostilePages(actionId: string): Record<string, string> {
  const target = E2E_BASE_URL;
  return {
    // The classic hole: a form cannot send application/json, but text/plain JSON reaches request.json() without a preflight.
    "/form-api": `<form method="POST" action="${target}/api/v1/tokens" enctype="text/plain">
        <input name='{"name":"hostile-form","scope":"admin","pad":"' value='"}'></form>
      <script>document.forms[0].submit()</script>`,
    "/fetch-api": `<pre id="out">running</pre><script>
      (async () => {
        const body = JSON.stringify({ name: "hostile-fetch", scope: "admin" });
        const results = [];
        try { await fetch("${target}/api/v1/tokens", { method: "POST", mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" }, body }); results.push("no-cors sent"); } catch (e) { results.push("no-cors failed"); }
        try { await fetch("${target}/api/v1/tokens", { method: "POST", credentials: "include", headers: { "Content-Type": "application/json" }, body }); results.push("cors read"); } catch (e) { results.push("cors blocked"); }
        document.getElementById("out").textContent = results.join(",");
      })();</script>`,
    // A server action posted as a plain form (progressive enhancement), with the right password even.
    "/form-action": `<form method="POST" action="${target}/settings" enctype="multipart/form-data">
        <input name="$ACTION_ID_${actionId}" value="">
        <input name="name" value="hostile-action"><input name="scope" value="admin">
        <input name="reauth_password" value="${E2E_ADMIN.password}"></form>
      <script>document.forms[0].submit()</script>`,
  };
}

let hostile: http.Server;

test.beforeAll(async () => {
  const pages = hostilePages(serverActionId("createTokenAction"));
  hostile = http.createServer((req, res) => {
    const body = pages[req.url ?? ""];
    res.writeHead(body ? 200 : 404, { "Content-Type": "text/html" });
    res.end(body ? `<!doctype html><html><body>${body}</body></html>` : "not found");
  });
  await new Promise<void>((resolve) => hostile.listen(HOSTILE_PORT, "127.0.0.1", resolve));
});

test.afterAll(async () => {
  await new Promise((resolve) => hostile.close(resolve));
});

async function tokenNames(api: import("@playwright/test").APIRequestContext): Promise<string[]> {
  const response = await api.get("/api/v1/tokens?include_inactive=true&limit=1000");
  expect(response.status()).toBe(200);
  return ((await response.json()) as { items: { name: string }[] }).items.map((t) => t.name);
}

test("a cross-site text/plain form POST to the API is refused with the admin's cookie on it", async ({ page, api }) => {
  await page.goto(`${HOSTILE}/form-api`);
  await expect(page.locator("body")).toContainText("csrf_rejected");
  expect(await tokenNames(api)).not.toContain("hostile-form");
  // The cookie did reach the server (same site), and the origin check is what refused it.
  const audit = await (await api.get("/api/v1/audit?action=token.create&result=denied")).json();
  expect(audit.items.some((entry: { actor: string }) => entry.actor === E2E_ADMIN.username)).toBe(true);
});

test("a cross-origin fetch to the API is refused, and its answer cannot be read", async ({ page, api }) => {
  await page.goto(`${HOSTILE}/fetch-api`);
  await expect(page.locator("#out")).toHaveText("no-cors sent,cors blocked");
  expect(await tokenNames(api)).not.toContain("hostile-fetch");
});

test("a cross-site form POST to a server action is refused", async ({ page, api }) => {
  const response = page.waitForResponse((r) => r.url() === `${E2E_BASE_URL}/settings` && r.request().method() === "POST");
  await page.goto(`${HOSTILE}/form-action`);
  expect((await response).status()).toBeGreaterThanOrEqual(400);
  expect(await tokenNames(api)).not.toContain("hostile-action");
});

test("the same token creation from the console itself works (the refusals above are not a broken form)", async ({ page, api }) => {
  await page.goto("/settings");
  const created = await page.evaluate(async (password) => {
    const response = await fetch("/api/v1/tokens", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Mimir-Password": password },
      body: JSON.stringify({ name: "same-origin-fetch", scope: "read" }),
    });
    return response.status;
  }, E2E_ADMIN.password);
  expect(created).toBe(201);
  expect(await tokenNames(api)).toContain("same-origin-fetch");
});
