import "server-only";
import { and, asc, desc, eq, inArray, lt, lte, or } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { atomically, isoOf } from "@/lib/db/dialect";
import {
  notificationChannels,
  notificationDeliveries,
  notificationProblems,
  type NotificationChannelRow,
  type NotificationDeliveryRow,
} from "@/lib/db/schema/notifications";

/** Data access for channels, the delivery outbox/log and problem states. */

export async function listChannelRows(): Promise<NotificationChannelRow[]> {
  return getDb().select().from(notificationChannels).orderBy(asc(notificationChannels.name), asc(notificationChannels.id));
}

export async function findChannelRow(id: string): Promise<NotificationChannelRow | null> {
  const [row] = await getDb().select().from(notificationChannels).where(eq(notificationChannels.id, id));
  return row ?? null;
}

export async function insertChannelRow(row: NotificationChannelRow): Promise<void> {
  await getDb().insert(notificationChannels).values(row);
}

export async function updateChannelRow(id: string, change: Partial<NotificationChannelRow>): Promise<void> {
  await getDb().update(notificationChannels).set(change).where(eq(notificationChannels.id, id));
}

/** Deletes the channel and its problem states; its deliveries stay in the log under its name. */
export async function deleteChannelRow(id: string): Promise<void> {
  await atomically((tx) => [
    tx.delete(notificationProblems).where(eq(notificationProblems.channelId, id)),
    tx
      .update(notificationDeliveries)
      .set({ status: "failed", lastError: "the channel was deleted", nextAttemptAt: null, claimedUntil: null })
      .where(and(eq(notificationDeliveries.channelId, id), inArray(notificationDeliveries.status, ["pending", "sending"]))),
    tx.delete(notificationChannels).where(eq(notificationChannels.id, id)),
  ]);
}

export async function findProblem(channelId: string, problemKey: string) {
  const [row] = await getDb()
    .select()
    .from(notificationProblems)
    .where(and(eq(notificationProblems.channelId, channelId), eq(notificationProblems.problemKey, problemKey)));
  return row ?? null;
}

export async function saveProblem(channelId: string, problemKey: string, raisedAt: string, lastSentAt: string): Promise<void> {
  await getDb()
    .insert(notificationProblems)
    .values({ channelId, problemKey, raisedAt, lastSentAt })
    .onConflictDoUpdate({ target: [notificationProblems.channelId, notificationProblems.problemKey], set: { lastSentAt } });
}

export async function deleteProblem(channelId: string, problemKey: string): Promise<boolean> {
  const result = await getDb()
    .delete(notificationProblems)
    .where(and(eq(notificationProblems.channelId, channelId), eq(notificationProblems.problemKey, problemKey)))
    .returning({ key: notificationProblems.problemKey });
  return result.length > 0;
}

export async function insertDeliveryRows(rows: NotificationDeliveryRow[]): Promise<void> {
  if (rows.length > 0) await getDb().insert(notificationDeliveries).values(rows);
}

/**
 * Claims up to `limit` deliveries that are due (pending and past their time, or sending under a
 * claim that ran out: its process died) for `until`. One statement, so two processes never claim
 * the same row.
 */
export async function claimDueDeliveries(now: string, until: string, limit: number): Promise<NotificationDeliveryRow[]> {
  const due = or(
    and(eq(notificationDeliveries.status, "pending"), lte(notificationDeliveries.nextAttemptAt, now)),
    and(eq(notificationDeliveries.status, "sending"), lt(notificationDeliveries.claimedUntil, now)),
  );
  return (
    getDb()
      .update(notificationDeliveries)
      .set({ status: "sending", claimedUntil: until })
      // `due` again outside the subquery: on PostgreSQL a second claimer blocked on the same rows
      // re-checks the outer condition against the committed row (now 'sending' with a fresh claim)
      // and skips it, where the subquery's id list alone would let it claim the row twice.
      .where(
        and(
          due,
          inArray(
            notificationDeliveries.id,
            getDb()
              .select({ id: notificationDeliveries.id })
              .from(notificationDeliveries)
              .where(due)
              .orderBy(asc(notificationDeliveries.nextAttemptAt))
              .limit(limit),
          ),
        ),
      )
      .returning()
  );
}

/** When the next pending delivery is due, or null when none waits. */
export async function nextDueTime(): Promise<string | null> {
  const [row] = await getDb()
    .select({ at: isoOf("min", notificationDeliveries.nextAttemptAt) })
    .from(notificationDeliveries)
    .where(eq(notificationDeliveries.status, "pending"));
  return row?.at ?? null;
}

export async function updateDeliveryRow(id: string, change: Partial<NotificationDeliveryRow>): Promise<void> {
  await getDb().update(notificationDeliveries).set(change).where(eq(notificationDeliveries.id, id));
}

export async function findDeliveryRow(id: string): Promise<NotificationDeliveryRow | null> {
  const [row] = await getDb().select().from(notificationDeliveries).where(eq(notificationDeliveries.id, id));
  return row ?? null;
}

/** Newest first, keyset-paged on (created_at, id). */
export async function listDeliveryRows(filter: { channelId?: string; status?: string; before?: { created_at: string; id: string } | null; limit: number }) {
  const conditions = [
    filter.channelId ? eq(notificationDeliveries.channelId, filter.channelId) : undefined,
    filter.status ? eq(notificationDeliveries.status, filter.status) : undefined,
    filter.before
      ? or(
          lt(notificationDeliveries.createdAt, filter.before.created_at),
          and(eq(notificationDeliveries.createdAt, filter.before.created_at), lt(notificationDeliveries.id, filter.before.id)),
        )
      : undefined,
  ];
  return getDb()
    .select()
    .from(notificationDeliveries)
    .where(and(...conditions))
    .orderBy(desc(notificationDeliveries.createdAt), desc(notificationDeliveries.id))
    .limit(filter.limit);
}

/** The channel's newest delivery with an outcome (sent or failed): one walk down the (channel, created_at) index. */
export async function findLastOutcome(channelId: string): Promise<NotificationDeliveryRow | null> {
  const [row] = await getDb()
    .select()
    .from(notificationDeliveries)
    .where(and(eq(notificationDeliveries.channelId, channelId), inArray(notificationDeliveries.status, ["sent", "failed"])))
    .orderBy(desc(notificationDeliveries.createdAt))
    .limit(1);
  return row ?? null;
}

/** Drops log rows with an outcome older than `before`; returns how many. */
export async function pruneDeliveryRows(before: string): Promise<number> {
  const result = await getDb()
    .delete(notificationDeliveries)
    .where(and(lt(notificationDeliveries.createdAt, before), inArray(notificationDeliveries.status, ["sent", "failed"])))
    .returning({ id: notificationDeliveries.id });
  return result.length;
}

/** Closes every delivery still to be sent that was written before `before`, with `reason`; returns how many. */
export async function closeUnsentBefore(before: string, reason: string): Promise<number> {
  const result = await getDb()
    .update(notificationDeliveries)
    .set({ status: "failed", lastError: reason, nextAttemptAt: null, claimedUntil: null })
    .where(and(inArray(notificationDeliveries.status, ["pending", "sending"]), lt(notificationDeliveries.createdAt, before)))
    .returning({ id: notificationDeliveries.id });
  return result.length;
}
