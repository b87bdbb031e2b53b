import { afterEach, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { rawSql } from "@/test/helpers/postgres";
import { listAuditLog, pruneAuditLog, recordAudit } from "@/lib/audit/service";

let root: TestDataRoot;
afterEach(() => root.cleanup());

test("pages newest first, filters, masks secret details, and prunes past the retention", async () => {
  root = createTestDataRoot({ MIMIR_AUDIT_RETENTION_DAYS: "30" });
  const principal = { kind: "user" as const, id: "u1", name: "alice", scope: "admin" as const };
  for (let i = 0; i < 5; i++)
    await recordAudit({ principal, action: i % 2 ? "token.create" : "user.create", result: "ok", details: { n: i, password: "hunter2" } });
  const first = await listAuditLog({ limit: 2 });
  expect(first.items.map((e) => e.details?.n)).toEqual([4, 3]);
  const second = await listAuditLog({ limit: 2, cursor: first.next_cursor! });
  expect(second.items.map((e) => e.details?.n)).toEqual([2, 1]);
  expect((await listAuditLog({ limit: 10, action: "token." })).items).toHaveLength(2);
  expect((await listAuditLog({ limit: 10, action: "%" })).items).toHaveLength(0);
  expect(JSON.stringify(first)).not.toContain("hunter2");

  await rawSql("UPDATE audit_log SET at = '2000-01-01T00:00:00.000Z' WHERE id <= 2");
  expect(await pruneAuditLog()).toBe(2);
  expect((await listAuditLog({ limit: 10 })).items).toHaveLength(3);
});
