import path from "node:path";
import fs from "node:fs";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { runTroubleshootingChecks } from "@/lib/maintenance/troubleshooting";
import { runIntegrityCheck } from "@/lib/maintenance/service";
import { testBackend } from "@/test/helpers/postgres";

let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
});
afterAll(() => root.cleanup());

test("each symptom is checked live, and a loose file mode comes with the chmod that fixes it", async () => {
  if (testBackend() === "sqlite") await looseDatabaseFileIsFlagged();
  else {
    // No database file to flag; the integrity check's amcheck needs is tested in postgres-page.test.ts.
    const checks = Object.fromEntries((await runTroubleshootingChecks()).map((c) => [c.id, c]));
    expect(Object.keys(checks).sort()).toEqual(["disk_space", "integrity", "lock_contention", "permissions"]);
    expect(checks.permissions!.status).toBe("ok");
    expect(checks.lock_contention!.status).toBe("ok");
  }

  // A file copied into a volume by hand with the usual 0644 is flagged too, with the fix.
  const copied = path.join(root.config.paths.pipelines, "copied-by-hand.yaml");
  fs.writeFileSync(copied, "name: x\n", { mode: 0o644 });
  fs.chmodSync(copied, 0o644);
  const permissions = (await runTroubleshootingChecks()).find((c) => c.id === "permissions")!;
  expect(permissions.status).toBe("warning");
  expect(permissions.findings.join("\n")).toContain(`${copied}: mode 0644, expected 0600`);
  expect(permissions.fix.join("\n")).toContain("chmod -R go-rwx");
  fs.rmSync(copied);
});

/** The SQLite file itself: its mode and its journal. */
async function looseDatabaseFileIsFlagged() {
  fs.chmodSync(root.config.paths.database, 0o644);
  await runIntegrityCheck(true);
  const checks = Object.fromEntries((await runTroubleshootingChecks()).map((c) => [c.id, c]));
  expect(Object.keys(checks).sort()).toEqual(["disk_space", "integrity", "lock_contention", "permissions"]);
  expect(checks.lock_contention!.findings.join(" ")).toContain("Journal mode is wal");
  expect(checks.integrity!.status).toBe("ok");
  expect(checks.permissions!.status).toBe("warning");
  expect(checks.permissions!.fix).toContain(`chmod 600 ${root.config.paths.database}   # only the service user should read this file`);
  fs.chmodSync(root.config.paths.database, 0o600);
  expect((await runTroubleshootingChecks()).find((c) => c.id === "permissions")!.status).toBe("ok");
}
