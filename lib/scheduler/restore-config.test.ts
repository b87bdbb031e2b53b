import { afterEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot } from "@/test/helpers/backup-fixtures";
import { getConfig } from "@/lib/config/service";
import { getJob } from "@/lib/jobs/service";
import { waitForOperation } from "@/lib/operations/service";
import { bootScheduler } from "@/lib/scheduler/boot";
import { stopScheduler } from "@/lib/scheduler/engine";
import { restoreBackup, startBackup } from "@/lib/backups/service";
import { setScheduledBackups } from "@/lib/backups/schedule";
import { replacedDataRemoved } from "@/lib/backups/restore-set";
import { VOLUMES } from "@/lib/config/volumes";

let root: TestDataRoot;
afterEach(async () => {
  stopScheduler();
  await replacedDataRemoved();
  root?.cleanup();
});

test("after a restore the built-in jobs follow the configuration in effect then, not the one the server booted with", async () => {
  root = createTestDataRoot();
  await fillDataRoot(root.config);
  await bootScheduler(getConfig());
  // Booted with scheduled backups off; switched on from the console since.
  await setScheduledBackups(true, null);
  const op = await waitForOperation((await startBackup(null, "manual")).id);
  expect(op.status).toBe("succeeded");

  await restoreBackup((op.result as { backup_id: string }).backup_id, VOLUMES, { safetyBackup: false });
  expect((await getJob("system-backup")).enabled).toBe(true);
  expect((await getJob("system-prune-backups")).enabled).toBe(true);
});
