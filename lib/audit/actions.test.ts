import { expect, test } from "vitest";
import { AUDIT_ACTIONS } from "@/lib/audit/actions";
import type { AuditEntry } from "@/lib/audit/service";

test("audit actions are a closed list: each once, verb.noun, and an unknown one does not compile", () => {
  expect(new Set(AUDIT_ACTIONS).size).toBe(AUDIT_ACTIONS.length);
  for (const action of AUDIT_ACTIONS) expect(action).toMatch(/^[a-z_]+(\.[a-z_]+)?$/);
  const known: AuditEntry = { principal: null, action: "backup.create", result: "ok" };
  const apiWrite: AuditEntry = { principal: null, action: "POST /api/v1/backups", result: "ok" };
  // @ts-expect-error an action outside the list is refused by the compiler
  const unknown: AuditEntry = { principal: null, action: "backup.made_up", result: "ok" };
  expect([known, apiWrite, unknown].map((entry) => entry.action)).toEqual(["backup.create", "POST /api/v1/backups", "backup.made_up"]);
});
