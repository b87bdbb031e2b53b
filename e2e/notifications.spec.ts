import http from "node:http";
import type { AddressInfo } from "node:net";
import { test, expect } from "./fixtures";
import { NotificationsPanel } from "./pages/notifications-panel";

/** A receiver on loopback started by the test: answers `status` and keeps each body it got. */
async function startReceiver(status: number, answer: string) {
  const bodies: string[] = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      bodies.push(body);
      response.writeHead(status, { "Content-Type": "text/plain" }).end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => new Promise((resolve) => server.close(resolve)) };
}

test("a webhook channel added on the Settings page is tested: sent, logged; a refusal shows the receiver's words and is flagged on the Overview", async ({
  page,
  api,
}) => {
  const ok = await startReceiver(200, "ok");
  const refusing = await startReceiver(403, "invalid_token");
  const name = `ops-hook-${Date.now()}`;
  const broken = `broken-hook-${Date.now()}`;
  const panel = new NotificationsPanel(page);
  try {
    await panel.goto();
    await panel.addWebhookChannel(name, `${ok.url}/hooks/T0KEN`);
    // The secret URL is not shown again, not even in the edit dialog.
    await expect(panel.row(name)).not.toContainText("T0KEN");

    await expect(await panel.test(name)).toHaveText("sent");
    expect(ok.bodies).toHaveLength(1);
    expect(JSON.parse(ok.bodies[0]!)).toMatchObject({ event: "notification.test", title: "Test notification" });
    await expect(panel.row(name)).toContainText("sent");
    const logged = panel.deliveryLog().locator("tr", { hasText: name });
    await expect(logged).toContainText("notification.test");
    await expect(logged).toContainText("sent");

    await panel.addWebhookChannel(broken, `${refusing.url}/hooks/WRONG`);
    await expect(await panel.test(broken)).toHaveText(`failed: ${new URL(refusing.url).host} answered 403: invalid_token`);
    await expect(panel.deliveryLog().locator("tr", { hasText: broken })).toContainText("answered 403: invalid_token");
    // Its newest delivery failed: the Overview says so, with the receiver's words.
    await page.goto("/");
    await expect(page.getByRole("alert", { name: "Failing notification channels" })).toContainText(`${broken}: ${new URL(refusing.url).host} answered 403`);
  } finally {
    const { items } = (await (await api.get("/api/v1/notifications/channels")).json()) as { items: { id: string; name: string }[] };
    for (const channel of items.filter((c) => c.name === name || c.name === broken)) await api.delete(`/api/v1/notifications/channels/${channel.id}`);
    await ok.close();
    await refusing.close();
  }
});

test("a channel the API cannot accept is refused with a 400 that names the field", async ({ api }) => {
  const bad = await api.post("/api/v1/notifications/channels", { data: { kind: "slack", name: "no url", secrets: { webhook_url: "not a url" } } });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error.message).toContain("secrets.webhook_url");
});

test("a job's page sets how many failed runs in a row it takes to notify", async ({ page, api }) => {
  const id = `notify-threshold-${Date.now()}`;
  expect((await api.post("/api/v1/scheduler/jobs", { data: { id, name: `Threshold ${id}`, pipeline: "nowhere.yaml", cron_expr: "0 3 * * *" } })).status()).toBe(
    201,
  );
  try {
    await page.goto(`/jobs/${id}`);
    const field = page.getByLabel("Notify after this many failed runs in a row");
    await expect(field).toHaveValue("1");
    await field.fill("3");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    // Exactly "Saved": the job form's missing-pipeline note ("…the job can be saved…") is a status too.
    await expect(page.getByRole("status").filter({ hasText: /^Saved$/ })).toBeVisible();
    expect(await (await api.get(`/api/v1/notifications/jobs/${id}`)).json()).toMatchObject({ job_id: id, failure_threshold: 3, consecutive_failures: 0 });
    await page.reload();
    await expect(field).toHaveValue("3");
  } finally {
    await api.delete(`/api/v1/scheduler/jobs/${id}`);
  }
});
