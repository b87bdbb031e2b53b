import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { claimDueDeliveries, insertDeliveryRows } from "@/lib/notify/queries";
import type { NotificationDeliveryRow } from "@/lib/db/schema/notifications";

// Runs on both backends (vitest project `postgres` too). On PostgreSQL the claimers below run on
// separate pooled connections at the same time, under READ COMMITTED: the claim must still hand each
// due delivery to exactly one of them, or a message would be sent twice.
let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
});
afterAll(() => root.cleanup());

function delivery(i: number): NotificationDeliveryRow {
  return {
    id: `d-${String(i).padStart(3, "0")}`,
    createdAt: "2025-01-15T02:00:00.000Z",
    event: "job.failed",
    severity: "warning",
    channelId: "c1",
    channelName: "ops",
    status: "pending",
    attempts: 0,
    nextAttemptAt: `2025-01-15T02:00:${String(i % 60).padStart(2, "0")}.000Z`,
    claimedUntil: null,
    lastError: null,
    attemptLog: "[]",
    sentAt: null,
    message: "{}",
  };
}

test("concurrent claims hand every due delivery to exactly one claimer", async () => {
  await insertDeliveryRows(Array.from({ length: 60 }, (_, i) => delivery(i)));
  const now = "2025-01-15T03:00:00.000Z";
  const until = "2025-01-15T03:05:00.000Z";
  const claims = await Promise.all(Array.from({ length: 6 }, () => claimDueDeliveries(now, until, 25)));
  const ids = claims.flat().map((row) => row.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBeLessThanOrEqual(60);
  for (const row of claims.flat()) expect(row).toMatchObject({ status: "sending", claimedUntil: until });
  // whatever a claimer lost to another is still due and goes to the next claim, once
  const rest = await claimDueDeliveries(now, until, 100);
  expect(new Set([...ids, ...rest.map((row) => row.id)]).size).toBe(60);
  expect(await claimDueDeliveries(now, until, 100)).toEqual([]);
});
