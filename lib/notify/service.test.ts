/**
 * The notifier against real receivers on loopback: an SMTP server (STARTTLS + AUTH) that checks
 * what arrives, HTTP receivers that check each chat format's body, one that fails twice then
 * succeeds, one that hangs. A real data root and SQLite file; real backups and job runs.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { decodeQuotedPrintable, startHttpReceiver, startSmtpReceiver, waitUntil, type HttpReceiver, type SmtpReceiver } from "@/test/helpers/receivers";
import { getDb, notifyAppDatabaseReopened } from "@/lib/db/client";
import { notificationChannels } from "@/lib/db/schema";
import { startBackup } from "@/lib/backups/service";
import { waitForOperation } from "@/lib/operations/service";
import { createPipeline } from "@/lib/pipelines/service";
import { createJob, deleteJob } from "@/lib/jobs/service";
import { getJobNotificationSettings, setJobFailureThreshold } from "@/lib/jobs/failure-alerts";
import { startJobRun } from "@/lib/scheduler/run";
import { deliveryIdle, RESTORED_BACKLOG_REASON, startNotifier, stopNotifier } from "@/lib/notify/delivery";
import { createChannelInput } from "@/lib/notify/inputs";
import {
  createChannel,
  deleteChannel,
  getChannel,
  getDelivery,
  listChannels,
  listDeliveries,
  notify,
  quietHoursEnd,
  testChannel,
  updateChannel,
} from "@/lib/notify/service";
import type { ChannelDto, DeliveryDto } from "@/lib/notify/types";

/** A create request as the API would take it: defaults applied, checked by the same schema. */
const createInputOf = (raw: Record<string, unknown>) => createChannelInput.parse(raw);

const PUBLIC_URL = "https://console.example.com";
const SMTP = { user: "alerts@example.com", password: "smtp-secret-pass-9931" };

let root: TestDataRoot;
let smtp: SmtpReceiver;
const receivers: HttpReceiver[] = [];

async function receiver(mode?: Parameters<typeof startHttpReceiver>[0]) {
  const started = await startHttpReceiver(mode);
  receivers.push(started);
  return started;
}

async function deliveriesOf(channel: ChannelDto): Promise<DeliveryDto[]> {
  return (await listDeliveries({ limit: 100, channel_id: channel.id })).items;
}

/** Waits until the outbox holds no delivery that is still to be tried. */
async function settled(channel: ChannelDto) {
  expect(await waitUntil(async () => (await deliveriesOf(channel)).every((d) => d.status === "sent" || d.status === "failed"))).toBe(true);
  await deliveryIdle();
}

function emailChannel(name: string) {
  return createChannel(
    createInputOf({
      kind: "email",
      name,
      settings: {
        host: "127.0.0.1",
        port: smtp.port,
        security: "starttls",
        username: SMTP.user,
        from: "mimir@example.com",
        to: ["ops@example.com"],
        verify_certificate: false,
      },
      secrets: { password: SMTP.password },
    }),
  );
}

beforeAll(async () => {
  root = createTestDataRoot({
    MIMIR_ALLOWED_DESTINATIONS: "127.0.0.1",
    MIMIR_PUBLIC_URL: PUBLIC_URL,
    MIMIR_NOTIFY_RETRY_BASE_SECONDS: "0.05",
    MIMIR_NOTIFY_TIMEOUT_SECONDS: "1",
    MIMIR_NOTIFY_MAX_ATTEMPTS: "3",
  });
  smtp = await startSmtpReceiver(SMTP);
});

afterEach(async () => {
  for (const channel of await listChannels()) if (!channel.from_config) await deleteChannel(channel.id);
  await deliveryIdle();
});

afterAll(async () => {
  await stopNotifier();
  await Promise.all(receivers.map((r) => r.close()));
  await smtp.close();
  root.cleanup();
});

describe("done when: a backup made to fail, then fixed", () => {
  test("sends one e-mail and one Slack message with the reason and a link, then one recovery each", async () => {
    const slack = await receiver();
    const mail = await emailChannel("ops mail");
    const chat = await createChannel(createInputOf({ kind: "slack", name: "ops slack", secrets: { webhook_url: `${slack.url}/services/T000/B000/XXXX` } }));
    const mailsBefore = smtp.mails.length;

    // The backups folder made unusable: a file where the folder should be.
    const backups = root.config.paths.backups;
    fs.rmSync(backups, { recursive: true, force: true });
    fs.writeFileSync(backups, "not a folder");
    for (let attempt = 0; attempt < 2; attempt++) {
      const failed = await waitForOperation((await startBackup(null, "schedule")).id);
      expect(failed.status).toBe("failed");
    }
    await settled(mail);
    await settled(chat);
    // Two failures of the same ongoing problem: announced once on each channel.
    expect(smtp.mails.length - mailsBefore).toBe(1);
    expect(slack.received).toHaveLength(1);

    const email = smtp.mails.at(-1)!;
    expect(email.secure).toBe(true);
    expect(email.user).toBe(SMTP.user);
    expect(email.to).toEqual(["ops@example.com"]);
    const text = decodeQuotedPrintable(email.raw);
    expect(text).toMatch(/^Subject: \[Mimir\] Backup failed/m);
    expect(text).toContain("A schedule backup failed");
    expect(text).toMatch(/EEXIST|ENOTDIR|not a directory|file already exists/);
    expect(text).toContain(`${PUBLIC_URL}/backups`);

    const slackBody = JSON.parse(slack.received[0]!.body) as { text: string };
    expect(slack.received[0]!.path).toBe("/services/T000/B000/XXXX");
    expect(slackBody.text).toContain("*Backup failed*");
    expect(slackBody.text).toMatch(/EEXIST|ENOTDIR|not a directory|file already exists/);
    expect(slackBody.text).toContain(`<${PUBLIC_URL}/backups|Open in the Mimir console>`);

    fs.rmSync(backups);
    fs.mkdirSync(backups, { mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const ok = await waitForOperation((await startBackup(null, "schedule")).id);
      expect(ok.status).toBe("succeeded");
    }
    await settled(mail);
    await settled(chat);
    expect(smtp.mails.length - mailsBefore).toBe(2);
    expect(decodeQuotedPrintable(smtp.mails.at(-1)!.raw)).toMatch(/^Subject: \[Mimir\] Backups are working again/m);
    expect(slack.received).toHaveLength(2);
    expect((JSON.parse(slack.received[1]!.body) as { text: string }).text).toContain("Backups are working again");
  }, 60_000);
});

describe("done when: a job failing three times with N=3", () => {
  test("sends one notification, not three, and the log shows every attempt", async () => {
    const flaky = await receiver("fail-twice");
    const channel = await createChannel(
      createInputOf({ kind: "webhook", name: "job hook", events: ["job.failed", "job.recovered"], secrets: { url: `${flaky.url}/hook` } }),
    );
    fs.writeFileSync(path.join(root.config.paths.plugins, "Step.fail"), "#!/bin/sh\ncat >/dev/null; echo 'disk on fire' >&2; exit 1\n", { mode: 0o700 });
    await createPipeline("name: always-fails\nsteps:\n  - name: boom\n    plugin: Step.fail\n", null);
    await createJob({ id: "nightly-export", name: "Nightly export", pipeline: "always-fails", cron_expr: "0 1 * * *", enabled: false }, null);
    await setJobFailureThreshold("nightly-export", 3, null);

    for (let run = 1; run <= 3; run++) {
      await (
        await startJobRun("nightly-export", "manual")
      ).finished;
      if (run < 3) expect(await deliveriesOf(channel)).toHaveLength(0);
    }
    expect((await getJobNotificationSettings("nightly-export")).consecutive_failures).toBe(3);
    await settled(channel);
    const [delivery, ...others] = await deliveriesOf(channel);
    expect(others).toHaveLength(0);
    // The receiver refused twice, then took it: three attempts, each recorded with its outcome.
    expect(delivery).toMatchObject({ event: "job.failed", status: "sent", attempts: 3 });
    expect(delivery!.attempt_log.map((a) => a.error)).toEqual([
      expect.stringContaining("answered 500: failure number 1"),
      expect.stringContaining("answered 500: failure number 2"),
      null,
    ]);
    expect(flaky.received).toHaveLength(3);
    const body = JSON.parse(flaky.received[2]!.body) as { event: string; data: Record<string, unknown>; link: string };
    expect(body).toMatchObject({
      event: "job.failed",
      data: { job_id: "nightly-export", consecutive_failures: 3, threshold: 3 },
      link: `${PUBLIC_URL}/jobs/nightly-export`,
    });

    // A fourth failure is the same ongoing problem: nothing new.
    await (
      await startJobRun("nightly-export", "manual")
    ).finished;
    await deliveryIdle();
    expect(await deliveriesOf(channel)).toHaveLength(1);

    // Deleted and made again under the same id, the job starts afresh.
    await deleteJob("nightly-export", null);
    await createJob({ id: "nightly-export", name: "Nightly export", pipeline: "always-fails", cron_expr: "0 1 * * *", enabled: false }, null);
    expect(await getJobNotificationSettings("nightly-export")).toMatchObject({ failure_threshold: 1, consecutive_failures: 0 });
  }, 60_000);
});

describe("chat formats arrive as each service expects", () => {
  test.each([
    [
      "discord",
      (url: string) => ({ secrets: { webhook_url: `${url}/api/webhooks/1/abc` } }),
      "/api/webhooks/1/abc",
      (body: Record<string, unknown>) => {
        expect(body.content).toContain("**Restore failed**");
        expect(body.content).toContain(`<${PUBLIC_URL}/backups>`);
        expect(body.allowed_mentions).toEqual({ parse: [] });
      },
    ],
    [
      "teams",
      (url: string) => ({ secrets: { webhook_url: `${url}/workflows/x` } }),
      "/workflows/x",
      (body: Record<string, unknown>) => {
        const attachment = (body.attachments as { contentType: string; content: { type: string; body: { text: string }[]; actions: { url: string }[] } }[])[0]!;
        expect(body.type).toBe("message");
        expect(attachment.contentType).toBe("application/vnd.microsoft.card.adaptive");
        expect(attachment.content.type).toBe("AdaptiveCard");
        expect(attachment.content.body[0]!.text).toBe("Restore failed");
        expect(attachment.content.actions[0]!.url).toBe(`${PUBLIC_URL}/backups`);
      },
    ],
    [
      "telegram",
      (url: string) => ({ settings: { chat_id: "-100123", api_url: url }, secrets: { bot_token: "123456:ABC-def" } }),
      "/bot123456:ABC-def/sendMessage",
      (body: Record<string, unknown>) => {
        expect(body.chat_id).toBe("-100123");
        expect(body.text).toContain("Restore failed\nRestoring set 20260101-020000 failed");
      },
    ],
    [
      "ntfy",
      (url: string) => ({ settings: { server_url: url, topic: "mimir-alerts" }, secrets: { access_token: "tk_secret" } }),
      "/",
      (body: Record<string, unknown>) => {
        expect(body).toMatchObject({ topic: "mimir-alerts", title: "Restore failed", priority: 5, click: `${PUBLIC_URL}/backups` });
      },
    ],
    [
      "gotify",
      (url: string) => ({ settings: { server_url: url }, secrets: { app_token: "AppTok3n" } }),
      "/message",
      (body: Record<string, unknown>) => {
        expect(body).toMatchObject({ title: "Restore failed", priority: 8 });
        expect(body.extras).toEqual({ "client::notification": { click: { url: `${PUBLIC_URL}/backups` } } });
      },
    ],
  ] as const)("%s", async (kind, config, expectedPath, check) => {
    const target = await receiver();
    const channel = await createChannel(createInputOf({ kind, name: `${kind} channel`, ...config(target.url) }));
    await notify("restore.failed", { backup_id: "20260101-020000", operation_id: "op-1", reason: "checksum mismatch in mimir_data.tar.gz" });
    await settled(channel);
    expect(target.received).toHaveLength(1);
    expect(target.received[0]!.path).toBe(expectedPath);
    if (kind === "ntfy") expect(target.received[0]!.headers.authorization).toBe("Bearer tk_secret");
    if (kind === "gotify") expect(target.received[0]!.headers["x-gotify-key"]).toBe("AppTok3n");
    check(JSON.parse(target.received[0]!.body) as Record<string, unknown>);
  });

  test("the generic webhook signs its body with the channel's secret", async () => {
    const target = await receiver();
    const channel = await createChannel(
      createInputOf({ kind: "webhook", name: "signed", secrets: { url: `${target.url}/in`, signing_secret: "hmac-key-77" } }),
    );
    await notify("verify.failed", { failed: [{ id: "20260101-020000", error: "sha256 mismatch" }] });
    await settled(channel);
    const request = target.received[0]!;
    const expected = `sha256=${crypto.createHmac("sha256", "hmac-key-77").update(request.body).digest("hex")}`;
    expect(request.headers["x-mimir-signature"]).toBe(expected);
    expect(request.headers["x-mimir-event"]).toBe("verify.failed");
    expect(JSON.parse(request.body)).toMatchObject({ event: "verify.failed", severity: "critical", data: { failed: [{ id: "20260101-020000" }] } });
  });
});

describe("delivery you can trust", () => {
  test("a receiver that hangs fails each attempt at the timeout; the channel is flagged failing", async () => {
    const hanging = await receiver("hang");
    const channel = await createChannel(createInputOf({ kind: "slack", name: "hangs", secrets: { webhook_url: `${hanging.url}/x` } }));
    await notify("restore.finished", { backup_id: "20260101-020000", operation_id: "op-2", volumes: ["mimir_data"], safety_backup_id: "20260102-020000" });
    await settled(channel);
    const [delivery] = await deliveriesOf(channel);
    expect(delivery).toMatchObject({ status: "failed", attempts: 3 });
    expect(delivery!.last_error).toContain("no answer within 1 s");
    expect(hanging.hits()).toBe(3);
    expect(await getChannel(channel.id)).toMatchObject({ failing: true, last_delivery: { status: "failed" } });
  }, 30_000);

  test("Test shows the receiver's own words when it refuses, and is logged", async () => {
    const refusing = await receiver({ status: 404, body: "no_team" });
    const channel = await createChannel(createInputOf({ kind: "slack", name: "wrong url", secrets: { webhook_url: `${refusing.url}/services/nope` } }));
    const result = await testChannel(channel.id);
    expect(result.status).toBe("failed");
    expect(result.error).toBe(`${new URL(refusing.url).host} answered 404: no_team`);
    expect(result.error).not.toContain("/services/nope");
    const [logged] = await deliveriesOf(channel);
    expect(logged).toMatchObject({ id: result.delivery_id, event: "notification.test", status: "failed", attempts: 1 });
  });

  test("notify never throws into the caller, even with a payload that does not fit", async () => {
    await expect(notify("job.failed", { job_id: "x" } as never)).resolves.toBeUndefined();
  });
});

describe("rules", () => {
  test("a channel gets only the events it subscribes to, at or above its minimum severity", async () => {
    const target = await receiver();
    const channel = await createChannel(createInputOf({ kind: "webhook", name: "critical only", min_severity: "critical", secrets: { url: target.url } }));
    await notify("restore.finished", { backup_id: "a", operation_id: "b", volumes: [], safety_backup_id: null });
    await notify("storage.alert_raised", { alert: "disk_free", message: "9 % free", value: 0.09, raise_at: 0.1, clear_at: 0.12 });
    await notify("restore.failed", { backup_id: "a", operation_id: "b", reason: "boom" });
    await settled(channel);
    expect(target.received.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(["restore.failed"]);
  });

  test("a cleared problem is sent only where its raise went, whatever the minimum severity", async () => {
    const target = await receiver();
    const channel = await createChannel(createInputOf({ kind: "webhook", name: "warnings", min_severity: "warning", secrets: { url: target.url } }));
    const alert = { alert: "volume:mimir_logs", message: "logs over 2 GB", value: 3, raise_at: 2, clear_at: 1 };
    await notify("storage.alert_cleared", alert);
    await notify("storage.alert_raised", alert);
    await notify("storage.alert_raised", alert);
    await notify("storage.alert_cleared", alert);
    await notify("storage.alert_cleared", alert);
    await settled(channel);
    expect(target.received.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(["storage.alert_raised", "storage.alert_cleared"]);
  });

  test("during quiet hours a warning waits for their end while a critical event goes out at once", async () => {
    const target = await receiver();
    const clock = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString().slice(11, 16);
    const channel = await createChannel(
      createInputOf({ kind: "webhook", name: "night", quiet_hours: { start: clock(-3_600_000), end: clock(3_600_000) }, secrets: { url: target.url } }),
    );
    await notify("storage.alert_raised", { alert: "disk_free", message: "9 % free", value: 0.09, raise_at: 0.1, clear_at: 0.12 });
    await notify("restore.failed", { backup_id: "a", operation_id: "b", reason: "boom" });
    expect(await waitUntil(() => target.received.length === 1)).toBe(true);
    await deliveryIdle();
    expect((JSON.parse(target.received[0]!.body) as { event: string }).event).toBe("restore.failed");
    const waiting = (await deliveriesOf(channel)).find((d) => d.event === "storage.alert_raised")!;
    expect(waiting).toMatchObject({ status: "pending", attempts: 0 });
    expect(Date.parse(waiting.next_attempt_at!)).toBeGreaterThan(Date.now() + 3_000_000);

    // A restore brings back a database whose unsent rows are old news: they are closed, not replayed.
    await startNotifier();
    await notifyAppDatabaseReopened();
    expect(await getDelivery(waiting.id)).toMatchObject({ status: "failed", last_error: RESTORED_BACKLOG_REASON });
  });

  test("quiet hours hold back all but critical events until they end (UTC)", () => {
    const quiet = { quietStart: "22:00", quietEnd: "07:00" };
    const at = (iso: string) => new Date(iso);
    expect(quietHoursEnd(quiet, "warning", at("2026-01-01T23:30:10Z"))?.toISOString()).toBe("2026-01-02T07:00:00.000Z");
    expect(quietHoursEnd(quiet, "info", at("2026-01-02T06:59:00Z"))?.toISOString()).toBe("2026-01-02T07:00:00.000Z");
    expect(quietHoursEnd(quiet, "critical", at("2026-01-01T23:30:00Z"))).toBeNull();
    expect(quietHoursEnd(quiet, "warning", at("2026-01-02T07:00:00Z"))).toBeNull();
    expect(quietHoursEnd({ quietStart: "01:00", quietEnd: "03:00" }, "info", at("2026-01-02T02:15:00Z"))?.toISOString()).toBe("2026-01-02T03:00:00.000Z");
    expect(quietHoursEnd({ quietStart: null, quietEnd: null }, "info", at("2026-01-02T02:15:00Z"))).toBeNull();
  });
});

describe("secrets", () => {
  test("channel secrets are sealed at rest, never returned, and kept when an edit leaves them out", async () => {
    const target = await receiver();
    const secretPath = "/services/T0PS3CR3T/B1/zzz";
    const channel = await createChannel(createInputOf({ kind: "slack", name: "sealed", secrets: { webhook_url: `${target.url}${secretPath}` } }));
    expect(JSON.stringify(channel)).not.toContain("T0PS3CR3T");
    expect(channel.secrets_set).toEqual(["webhook_url"]);
    const [row] = await getDb().select().from(notificationChannels);
    expect(row!.secrets).toMatch(/^v1\./);
    expect(row!.secrets).not.toContain("T0PS3CR3T");
    expect(fs.statSync(path.join(root.config.paths.config, "secret.key")).mode & 0o777).toBe(0o600);

    const renamed = await updateChannel(channel.id, { name: "sealed (renamed)", secrets: { webhook_url: "" } });
    expect(renamed.name).toBe("sealed (renamed)");
    expect((await testChannel(channel.id)).status).toBe("sent");
    expect(target.received[0]!.path).toBe(secretPath);
    await expect(updateChannel(channel.id, { secrets: { webhook_url: "not a url" } })).rejects.toMatchObject({ code: "invalid_input" });
  });
});

describe("review findings", () => {
  test("a built-in job's failure threshold is admin-only to change (a raised one would silence it)", async () => {
    const writer = { kind: "token" as const, id: "t-write", name: "ci-write", scope: "write" as const };
    await expect(setJobFailureThreshold("system-storage-sample", 1000, writer)).rejects.toMatchObject({ code: "builtin_admin_only" });
  });

  test("a channel URL with user:password@ in it is refused (fetch's own error would repeat it whole)", () => {
    const parsed = createChannelInput.safeParse({ kind: "webhook", name: "leaky", secrets: { url: "https://user:pa55@hooks.example.com/x" } });
    expect(parsed.success).toBe(false);
  });
});
