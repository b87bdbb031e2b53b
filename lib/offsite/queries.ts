import "server-only";
import { and, asc, desc, eq, inArray, lt, ne, or } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { atomically, preparedQuery } from "@/lib/db/dialect";
import { offsiteCopies, offsiteDestinations, type OffsiteCopyRow, type OffsiteDestinationRow } from "@/lib/db/schema/offsite";

/** Data access for offsite destinations and per-set copy states. */

export async function listDestinationRows(): Promise<OffsiteDestinationRow[]> {
  return getDb().select().from(offsiteDestinations).orderBy(asc(offsiteDestinations.name), asc(offsiteDestinations.id));
}

/**
 * Every destination (name order) joined with the verified time, bytes, status and failures of each of
 * its copies: one row per copy, one with null copy fields for a destination without any.
 */
export async function listDestinationCopyFacts() {
  return destinationCopyFactsQuery().execute();
}

// Every scrape runs it: prepared once per connection (preparedQuery).
const destinationCopyFactsQuery = preparedQuery((db) =>
  db
    .select({
      id: offsiteDestinations.id,
      name: offsiteDestinations.name,
      status: offsiteCopies.status,
      verifiedAt: offsiteCopies.verifiedAt,
      bytes: offsiteCopies.bytes,
      failures: offsiteCopies.failures,
    })
    .from(offsiteDestinations)
    .leftJoin(offsiteCopies, eq(offsiteCopies.destinationId, offsiteDestinations.id))
    .orderBy(asc(offsiteDestinations.name), asc(offsiteDestinations.id))
    .prepare(),
);

export async function findDestinationRow(id: string): Promise<OffsiteDestinationRow | null> {
  const [row] = await getDb().select().from(offsiteDestinations).where(eq(offsiteDestinations.id, id));
  return row ?? null;
}

export async function insertDestinationRow(row: OffsiteDestinationRow): Promise<void> {
  await getDb().insert(offsiteDestinations).values(row);
}

export async function updateDestinationRow(id: string, change: Partial<OffsiteDestinationRow>): Promise<void> {
  await getDb().update(offsiteDestinations).set(change).where(eq(offsiteDestinations.id, id));
}

/** Deletes the destination and its copy states (the remote objects stay where they are). */
export async function deleteDestinationRow(id: string): Promise<void> {
  await atomically((tx) => [
    tx.delete(offsiteCopies).where(eq(offsiteCopies.destinationId, id)),
    tx.delete(offsiteDestinations).where(eq(offsiteDestinations.id, id)),
  ]);
}

export async function findCopyRow(backupId: string, destinationId: string): Promise<OffsiteCopyRow | null> {
  const [row] = await getDb()
    .select()
    .from(offsiteCopies)
    .where(and(eq(offsiteCopies.backupId, backupId), eq(offsiteCopies.destinationId, destinationId)));
  return row ?? null;
}

export async function listCopyRowsFor(backupIds: string[]): Promise<OffsiteCopyRow[]> {
  if (backupIds.length === 0) return [];
  return getDb().select().from(offsiteCopies).where(inArray(offsiteCopies.backupId, backupIds));
}

/** A destination's copies, newest activity first. */
export async function listCopyRowsOfDestination(destinationId: string): Promise<OffsiteCopyRow[]> {
  return getDb().select().from(offsiteCopies).where(eq(offsiteCopies.destinationId, destinationId)).orderBy(desc(offsiteCopies.updatedAt));
}

export async function upsertCopyRow(row: OffsiteCopyRow): Promise<void> {
  const { backupId: _b, destinationId: _d, ...rest } = row;
  await getDb()
    .insert(offsiteCopies)
    .values(row)
    .onConflictDoUpdate({ target: [offsiteCopies.backupId, offsiteCopies.destinationId], set: rest });
}

/**
 * Writes `row` (status copying) unless another copy holds the row: one still "copying" whose claim
 * was renewed after `staleBefore`. One statement, so two instances asking at once cannot both win.
 * True when the claim is ours.
 */
export async function claimCopyRow(row: OffsiteCopyRow, staleBefore: string): Promise<boolean> {
  const { backupId: _b, destinationId: _d, ...rest } = row;
  const claimed = await getDb()
    .insert(offsiteCopies)
    .values(row)
    .onConflictDoUpdate({
      target: [offsiteCopies.backupId, offsiteCopies.destinationId],
      set: rest,
      setWhere: or(ne(offsiteCopies.status, "copying"), lt(offsiteCopies.updatedAt, staleBefore)),
    })
    .returning({ backupId: offsiteCopies.backupId });
  return claimed.length > 0;
}

/** Keeps a running copy's claim alive (see claimCopyRow). */
export async function renewCopyClaim(backupId: string, destinationId: string, at: string): Promise<void> {
  await getDb()
    .update(offsiteCopies)
    .set({ updatedAt: at })
    .where(and(eq(offsiteCopies.backupId, backupId), eq(offsiteCopies.destinationId, destinationId), eq(offsiteCopies.status, "copying")));
}

export async function updateCopyRow(backupId: string, destinationId: string, change: Partial<OffsiteCopyRow>): Promise<void> {
  await getDb()
    .update(offsiteCopies)
    .set(change)
    .where(and(eq(offsiteCopies.backupId, backupId), eq(offsiteCopies.destinationId, destinationId)));
}

export async function deleteCopyRow(backupId: string, destinationId: string): Promise<void> {
  await getDb()
    .delete(offsiteCopies)
    .where(and(eq(offsiteCopies.backupId, backupId), eq(offsiteCopies.destinationId, destinationId)));
}

/** Copies left "copying" by a process that stopped: they are failed at boot, to be retried. */
export async function failInterruptedCopies(error: string, at: string): Promise<number> {
  // RETURNING counts the rows on both backends (a sync .run().changes is SQLite's alone).
  const failed = await getDb()
    .update(offsiteCopies)
    .set({ status: "failed", error, updatedAt: at })
    .where(inArray(offsiteCopies.status, ["copying", "pending"]))
    .returning({ backupId: offsiteCopies.backupId });
  return failed.length;
}
