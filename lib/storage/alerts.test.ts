import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { loadConfig } from "@/lib/config/load";
import { storageAlertsSchema } from "@/lib/config/schema";
import { setConfig } from "@/lib/config/service";
import { getDb } from "@/lib/db/client";
import { auditLog } from "@/lib/db/schema";
import { getHealth, getPublicHealth } from "@/lib/health/service";
import { deliveryIdle, stopNotifier } from "@/lib/notify/delivery";
import { listDeliveries } from "@/lib/notify/service";
import { listActiveAlerts, listAlerts, nextAlertState } from "@/lib/storage/alerts";
import { sampleIntervalMs, startStorageSampler, stopStorageSampler, takeStorageSample } from "@/lib/storage/sampler";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

describe("nextAlertState (hysteresis)", () => {
  const above = { raise: 100, clear: 80 };
  test.each([
    ["cleared", 99, "cleared"],
    ["cleared", 101, "raised"],
    ["raised", 90, "raised"], // between the lines: stays raised, no flapping
    ["raised", 79, "cleared"],
    ["cleared", 90, "cleared"], // between the lines: stays cleared
    ["raised", null, "raised"], // nothing measured: no change
  ] as const)("above: %s at %s → %s", (previous, value, expected) => {
    expect(nextAlertState(previous, value, above, "above")).toBe(expected);
  });
  const below = { raise: 0.1, clear: 0.12 };
  test.each([
    ["cleared", 0.11, "cleared"],
    ["cleared", 0.09, "raised"],
    ["raised", 0.11, "raised"],
    ["raised", 0.13, "cleared"],
  ] as const)("below: %s at %s → %s", (previous, value, expected) => {
    expect(nextAlertState(previous, value, below, "below")).toBe(expected);
  });
});

describe("a volume threshold crossed and uncrossed", () => {
  let root: TestDataRoot;
  let receiver: http.Server;
  const received: { text: string; event: string; data: { alert: string } }[] = [];

  /** Rewrites config.yaml and installs it, as an operator editing the file and reloading would. */
  function configure(raiseBytes: number, clearBytes: number, url: string) {
    fs.writeFileSync(
      root.config.configFile,
      stringify({
        storage: {
          sample_interval_minutes: 0.01,
          alert_webhook_url: url,
          alerts: { volume_bytes: { mimir_plugins: { raise: raiseBytes, clear: clearBytes } } },
        },
        // The receiver listens on loopback, which the outbound guard refuses unless allowed.
        network: { allowed_destinations: ["127.0.0.1"] },
        notifications: { retry_base_seconds: 0.05, timeout_seconds: 2 },
      }),
    );
    setConfig(loadConfig({ MIMIR_HOME: root.home }, root.home));
  }

  async function waitFor(condition: () => Promise<boolean>, withinMs: number) {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      if (await condition()) return true;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return condition();
  }

  beforeAll(async () => {
    root = createTestDataRoot();
    receiver = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        received.push(JSON.parse(body));
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    fs.writeFileSync(path.join(root.config.paths.plugins, "plugin.bin"), Buffer.alloc(2 * 1024 * 1024));
  });
  afterAll(async () => {
    stopStorageSampler();
    await stopNotifier();
    await new Promise((resolve) => receiver.close(resolve));
    root.cleanup();
  });

  test("raises within one sample interval, is reported everywhere, notifies once, and clears", async () => {
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    configure(10 * 1024 * 1024, 8 * 1024 * 1024, url);
    startStorageSampler();
    await waitFor(async () => (await listAlerts()).length === 0 && received.length === 0, 100);

    // Threshold set below current usage (2 MB of plugins): raised within one sample interval.
    configure(1024 * 1024, 512 * 1024, url);
    const raisedInTime = await waitFor(async () => (await listActiveAlerts()).length === 1, sampleIntervalMs() + 2_000);
    expect(raisedInTime).toBe(true);
    const [alert] = await listActiveAlerts();
    expect(alert).toMatchObject({ key: "volume:mimir_plugins", state: "raised" });
    expect(alert!.message).toMatch(/mimir_plugins is 2\.00 MB, over its 1\.00 MB threshold/);
    expect(alert!.message).toContain("storage.alerts.volume_bytes.mimir_plugins.raise");

    const health = await getHealth();
    expect(health.status).toBe("degraded");
    expect(health.reasons.join("\n")).toContain("storage alert volume:mimir_plugins");
    // Anyone may read /health: it says degraded and why in a code, never the alert's text.
    const anonymous = await getPublicHealth();
    expect(anonymous).toMatchObject({ status: "degraded", reason_codes: ["storage_alert"] });
    expect(JSON.stringify(anonymous)).not.toMatch(/mimir_plugins|MB|threshold/);

    await waitFor(async () => received.length >= 1, 2_000);
    // Several more samples while still over the line: the webhook is told once.
    for (let i = 0; i < 3; i++) await takeStorageSample();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ event: "storage.alert_raised", data: { alert: "volume:mimir_plugins" } });
    expect(received[0]!.text).toContain("mimir_plugins is 2.00 MB");

    // Threshold raised above usage: cleared, and the recovery is sent once.
    configure(4 * 1024 * 1024, 3 * 1024 * 1024, url);
    const clearedInTime = await waitFor(async () => (await listActiveAlerts()).length === 0, sampleIntervalMs() + 2_000);
    expect(clearedInTime).toBe(true);
    await waitFor(async () => received.length >= 2, 2_000);
    for (let i = 0; i < 3; i++) await takeStorageSample();
    expect(received).toHaveLength(2);
    expect(received[1]).toMatchObject({ event: "storage.alert_cleared", data: { alert: "volume:mimir_plugins" } });
    expect(received[1]!.text).toContain("mimir_plugins is back to 2.00 MB, under its 3.00 MB clear level");
    expect((await getHealth()).reasons.join("\n")).not.toContain("storage alert");

    const audit = await getDb().select().from(auditLog);
    expect(audit.filter((row) => row.target === "volume:mimir_plugins").map((row) => row.action)).toEqual(["alert.raise", "alert.clear"]);
  });

  test("a receiver that is down is retried by the notifier until it answers, and told once", async () => {
    stopStorageSampler();
    const before = received.length;
    const deadUrl = "http://127.0.0.1:9/hook"; // discard port: nothing listens
    configure(1024 * 1024, 512 * 1024, deadUrl);
    await takeStorageSample();
    expect((await listActiveAlerts()).map((a) => a.key)).toEqual(["volume:mimir_plugins"]);
    const failedOnce = async () =>
      (await listDeliveries({ limit: 5 })).items.some((d) => d.event === "storage.alert_raised" && d.attempts >= 1 && d.status === "pending");
    expect(await waitFor(failedOnce, 5_000)).toBe(true);
    expect(received.length).toBe(before);
    // The URL is read at each attempt: fixed, the next retry arrives.
    configure(1024 * 1024, 512 * 1024, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`);
    expect(await waitFor(async () => received.length > before, 5_000)).toBe(true);
    await takeStorageSample();
    await deliveryIdle();
    expect(received.length).toBe(before + 1);
    expect(received.at(-1)).toMatchObject({ event: "storage.alert_raised" });
  });
});

describe("alert thresholds in config.yaml", () => {
  test.each([
    [{ disk_free_ratio: { raise: 0.1, clear: 0.12 } }, true],
    [{ disk_free_ratio: { raise: 0.12, clear: 0.1 } }, false], // would flap: clears below where it raises
    [{ disk_free_ratio: { raise: 10, clear: 12 } }, false], // a percentage, not a ratio
    [{ volume_bytes: { mimir_logs: { raise: "2147483648", clear: "1073741824" } } }, true],
    [{ volume_bytes: { mimir_logs: { raise: 1, clear: 2 } } }, false],
    [{ volume_bytes: { mimir_other: { raise: 2, clear: 1 } } }, false],
    [{ disk_full_hours: { raise: 24, clear: 12 } }, false],
  ])("%j valid: %s", (alerts, valid) => {
    expect(storageAlertsSchema.safeParse(alerts).success).toBe(valid);
  });
});
