import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { waitUntil } from "@/test/helpers/receivers";
import { deliveryIdle, stopNotifier } from "@/lib/notify/delivery";
import { fillDataRoot } from "@/test/helpers/backup-fixtures";
import { findBuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import { BUILTIN_JOBS } from "@/lib/builtins";
import { backupFreshnessProblem } from "@/lib/backups/freshness";
import { listBackups } from "@/lib/backups/catalog";
import type { PluginRunContext } from "@/lib/plugins/builtin-plugins";

let root: TestDataRoot;
afterEach(() => root?.cleanup());

function context(lines: string[]): PluginRunContext {
  return {
    executionId: "e",
    jobId: "system-backup",
    pipeline: "system-backup",
    stepName: "backup",
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
  };
}

describe("scheduled backups", () => {
  test("the guide's cron recipes ship as built-in jobs, on only when persistence.backup_enabled", () => {
    root = createTestDataRoot({ MIMIR_BACKUP_ENABLED: "true" });
    const byId = Object.fromEntries(BUILTIN_JOBS.map((job) => [job.id, job]));
    const backupJobs = BUILTIN_JOBS.filter((job) => ["system-backup", "system-prune-backups", "system-verify-backups"].includes(job.id));
    expect(backupJobs).toHaveLength(3);
    expect(byId["system-backup"]!.cron(root.config)).toBe("0 2 * * *");
    expect(byId["system-prune-backups"]!.cron(root.config)).toBe("0 3 * * *");
    expect(byId["system-verify-backups"]!.pipeline.steps[0]!.plugin).toBe("System.verify_backups");
    expect(backupJobs.every((job) => job.enabledByDefault(root.config))).toBe(true);
    root.cleanup();
    root = createTestDataRoot();
    expect(backupJobs.some((job) => job.enabledByDefault(root.config))).toBe(false);
  });

  test("System.backup writes a verified set; /health freshness turns degraded when backups are missing, stale or failing", async () => {
    root = createTestDataRoot({ MIMIR_BACKUP_ENABLED: "true" });
    await fillDataRoot(root.config);
    expect(await backupFreshnessProblem()).toMatch(/no backup has been made yet/);

    const lines: string[] = [];
    const output = await findBuiltinPlugin("System.backup")!.run({}, context(lines));
    expect(output).toMatchObject({ verify_status: "ok" });
    expect((await listBackups({ limit: 10 })).items[0]).toMatchObject({ trigger: "schedule", verify_status: "ok" });
    expect(await backupFreshnessProblem()).toBeNull();
    expect(await backupFreshnessProblem(new Date(Date.now() + 3 * 86_400_000))).toMatch(/older than the schedule '0 2 \* \* \*' allows/);

    const pruned = await findBuiltinPlugin("System.prune_backups")!.run(findBuiltinPlugin("System.prune_backups")!.configSchema.parse({}), context(lines));
    expect(pruned).toMatchObject({ deleted: [] });
    expect(lines.join("\n")).toMatch(/pruned 0 set/);
  });

  test("a failed scheduled backup reaches the webhook as a message Slack and Discord show, shows in /health, and stops pruning", async () => {
    const received: string[] = [];
    const server = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk) => (body += chunk));
      request.on("end", () => {
        received.push(body);
        response.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
      root = createTestDataRoot({ MIMIR_BACKUP_ENABLED: "true", MIMIR_ALERT_WEBHOOK_URL: url, MIMIR_ALLOWED_DESTINATIONS: "127.0.0.1" });
      await fillDataRoot(root.config);
      // The backups path is a file: every backup fails.
      fs.rmSync(root.config.paths.backups, { recursive: true });
      fs.writeFileSync(root.config.paths.backups, "not a folder");
      await expect(findBuiltinPlugin("System.backup")!.run({}, context([]))).rejects.toThrow(/scheduled backup failed/);
      expect(await waitUntil(() => received.length >= 1)).toBe(true);
      await deliveryIdle();
      expect(received).toHaveLength(1);
      // `text` (Slack) and `content` (Discord) carry the message itself, not only machine fields.
      const body = JSON.parse(received[0]!) as { event: string; text: string; content: string };
      expect(body.event).toBe("backup.failed");
      expect(body.text).toMatch(/^Backup failed\nA schedule backup failed: .+/);
      expect(body.content).toBe(body.text);
      expect(await backupFreshnessProblem()).toMatch(/the latest backup failed/);
      fs.rmSync(root.config.paths.backups);
      fs.mkdirSync(root.config.paths.backups);
      const lines: string[] = [];
      const pruned = await findBuiltinPlugin("System.prune_backups")!.run({ dry_run: false }, context(lines));
      expect(pruned.skipped_reason).toMatch(/failed/);
    } finally {
      await stopNotifier();
      server.close();
    }
  });
});
