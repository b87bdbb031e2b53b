import "server-only";
import { and, asc, eq, gte, inArray, lt, sql, type SQL } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { atomically, integerAverage, isoOf, num, preparedQuery, timeBucket, whenWriteLockFree } from "@/lib/db/dialect";
import { storageAlerts, storageSamples, type NewStorageSampleRow, type StorageAlertRow } from "@/lib/db/schema/storage";
import { DAY_MS } from "@/lib/time";
import { yieldToEventLoop } from "@/lib/event-loop";

/**
 * Data access for samples and alert states. Time buckets group on a prefix of the ISO text
 * ("2025-01-15T02:1" is a 10-minute bucket, "2025-01-15T02" an hour, "2025-01-15" a day), which any
 * SQL dialect can do on an indexed column without date functions.
 */
export const BUCKET_PREFIX = { "10min": 15, hour: 13, day: 10 } as const;
export type Bucket = keyof typeof BUCKET_PREFIX;

export async function insertSamples(rows: NewStorageSampleRow[]): Promise<void> {
  if (rows.length > 0) await whenWriteLockFree(() => getDb().insert(storageSamples).values(rows));
}

/**
 * Days of samples each thinning statement covers. A month of samples every 15 min thinned in one
 * statement held the event loop 142-229 ms; a day of them is 1/30 of that. Beyond a month samples are
 * hourly at most, so a week per statement is as many rows.
 */
const HOURLY_THIN_DAYS = 1;
const DAILY_THIN_DAYS = 7;

/**
 * [from, to) cut at UTC midnights into pieces of at most `days` days, newest first. Hour and day
 * buckets never cross a midnight, so thinning piece by piece keeps exactly what thinning the whole
 * range at once keeps.
 */
function dayPieces(from: string, to: string, days: number): [string, string][] {
  const pieces: [string, string][] = [];
  const start = Date.parse(from);
  for (let end = Date.parse(to); end > start;) {
    const midnight = Math.floor((end - 1) / DAY_MS) * DAY_MS;
    const cut = Math.max(start, midnight - (days - 1) * DAY_MS);
    pieces.push([new Date(cut).toISOString(), new Date(end).toISOString()]);
    end = cut;
  }
  return pieces;
}

/**
 * Keeps every sample of the last day, the last sample of each hour up to a month, and the last of
 * each day beyond that; drops what is older than `dropBefore`. One day per statement, with the event
 * loop free between them: the thinning runs beside serving (the sampler's turn may fall in a backup).
 * Returns the rows deleted.
 */
export async function thinSamples(cutoffs: { hourlyBefore: string; dailyBefore: string; dropBefore: string }): Promise<number> {
  const db = getDb();
  const keepLastPerBucket = (from: string, to: string, prefix: number) =>
    db.delete(storageSamples).where(
      and(
        gte(storageSamples.takenAt, from),
        lt(storageSamples.takenAt, to),
        sql`${storageSamples.id} NOT IN (
          SELECT max(id) FROM storage_samples WHERE taken_at >= ${from} AND taken_at < ${to}
          GROUP BY volume, ${timeBucket(storageSamples.takenAt, prefix)})`,
      ),
    );
  const deleted = { id: storageSamples.id };
  let count = 0;
  const ranges = [
    ...dayPieces(cutoffs.dailyBefore, cutoffs.hourlyBefore, HOURLY_THIN_DAYS).map((range) => [...range, BUCKET_PREFIX.hour] as const),
    ...dayPieces(cutoffs.dropBefore, cutoffs.dailyBefore, DAILY_THIN_DAYS).map((range) => [...range, BUCKET_PREFIX.day] as const),
  ];
  for (const [from, to, prefix] of ranges) {
    count += (await whenWriteLockFree(() => keepLastPerBucket(from, to, prefix).returning(deleted))).length;
    await yieldToEventLoop();
  }
  const dropped = await whenWriteLockFree(() => db.delete(storageSamples).where(lt(storageSamples.takenAt, cutoffs.dropBefore)).returning(deleted));
  return count + dropped.length;
}

/**
 * The series' names, found by skipping through the (volume, taken_at) index: one probe per series.
 * `SELECT DISTINCT volume` would read every sample (a month of them is ~20,000 rows), and so would
 * comparing each sample with its series' newest (PostgreSQL ran that subquery once per sample: 215 ms).
 */
const SERIES = sql`WITH RECURSIVE series(volume) AS (
    SELECT min(volume) FROM storage_samples
    UNION ALL
    SELECT (SELECT min(s.volume) FROM storage_samples AS s WHERE s.volume > series.volume) FROM series WHERE series.volume IS NOT NULL
  )`;

/** Samples that are, per series, the one whose time `pick` (an aggregate over that series' samples matching `also`) names. */
function onePerSeries(pick: "max" | "min", also: SQL = sql`TRUE`): SQL {
  return sql`(${storageSamples.volume}, ${storageSamples.takenAt}) IN (${SERIES}
    SELECT series.volume, (SELECT ${sql.raw(pick)}(s.taken_at) FROM storage_samples AS s WHERE s.volume = series.volume AND ${also})
    FROM series WHERE series.volume IS NOT NULL)`;
}

/**
 * The newest sample of each series, by time (not id: samples written late, e.g. imported, keep
 * their own time): two index probes per series, whatever the number of samples.
 */
export async function findLatestSamples() {
  return getDb().select().from(storageSamples).where(onePerSeries("max"));
}

/**
 * The latest sample of each series and the state of every alert, in one statement: /metrics reads
 * both on every scrape. An alert comes as a row whose `alertState` is set (the alert's key in
 * `volume`); a sample's `alertState` is null.
 */
export async function findLatestSamplesAndAlertStates() {
  return latestSamplesAndAlertStatesQuery().execute();
}

// Every scrape runs it: built by drizzle and compiled by the database once per connection
// (preparedQuery), not on each scrape.
const latestSamplesAndAlertStatesQuery = preparedQuery((db) => {
  const samples = db
    .select({
      volume: storageSamples.volume,
      takenAt: storageSamples.takenAt,
      bytes: storageSamples.bytes,
      files: storageSamples.files,
      fsFreeBytes: storageSamples.fsFreeBytes,
      fsTotalBytes: storageSamples.fsTotalBytes,
      alertState: sql<string | null>`NULL`,
    })
    .from(storageSamples)
    .where(onePerSeries("max"));
  const alerts = db
    .select({
      volume: storageAlerts.key,
      takenAt: storageAlerts.updatedAt,
      bytes: sql<number>`0`,
      files: sql<number>`0`,
      fsFreeBytes: sql<number | null>`NULL`,
      fsTotalBytes: sql<number | null>`NULL`,
      alertState: storageAlerts.state,
    })
    .from(storageAlerts);
  return samples.unionAll(alerts).prepare();
});

/** The oldest sample of each series taken at or after `since`. */
export async function findFirstSamplesSince(since: string) {
  return getDb()
    .select()
    .from(storageSamples)
    .where(onePerSeries("min", sql`s.taken_at >= ${since}`));
}

export async function findLatestSampleTime(): Promise<string | null> {
  const [row] = await getDb()
    .select({ at: isoOf("max", storageSamples.takenAt) })
    .from(storageSamples);
  return row?.at ?? null;
}

/** Mean bytes per series per bucket since `since`, oldest first: the stacked chart, aggregated in SQL. */
export async function aggregateSampleSeries(since: string, bucket: Bucket, series?: readonly string[]) {
  const prefix = BUCKET_PREFIX[bucket];
  const t = timeBucket(storageSamples.takenAt, prefix);
  return getDb()
    .select({ t, volume: storageSamples.volume, bytes: integerAverage(storageSamples.bytes) })
    .from(storageSamples)
    .where(and(gte(storageSamples.takenAt, since), series ? inArray(storageSamples.volume, [...series]) : undefined))
    .groupBy(t, storageSamples.volume)
    .orderBy(asc(t));
}

/**
 * Per sample time since `since`, oldest first: the summed bytes of `volumes` and the free and total
 * space of the data volume's filesystem (from its mimir_data row), for the fill projection.
 */
export async function listVolumeTotalsSince(since: string, volumes: readonly string[]) {
  const rows = await getDb()
    .select({
      takenAt: storageSamples.takenAt,
      bytes: num(sql`sum(${storageSamples.bytes})`),
      free: sql<number | null>`max(CASE WHEN ${storageSamples.volume} = 'mimir_data' THEN ${storageSamples.fsFreeBytes} END)`.mapWith(Number) as SQL<
        number | null
      >,
      total: sql<number | null>`max(CASE WHEN ${storageSamples.volume} = 'mimir_data' THEN ${storageSamples.fsTotalBytes} END)`.mapWith(Number) as SQL<
        number | null
      >,
    })
    .from(storageSamples)
    .where(and(gte(storageSamples.takenAt, since), inArray(storageSamples.volume, [...volumes])))
    .groupBy(storageSamples.takenAt)
    .orderBy(asc(storageSamples.takenAt));
  return rows.map((row) => ({ ...row, bytes: Number(row.bytes) }));
}

export async function listAlertRows(): Promise<StorageAlertRow[]> {
  return getDb().select().from(storageAlerts).orderBy(asc(storageAlerts.key));
}

/** Writes all changed alert rows in one transaction. */
export async function saveAlertRows(rows: StorageAlertRow[]): Promise<void> {
  if (rows.length === 0) return;
  await atomically((tx) =>
    rows.map((row) =>
      tx
        .insert(storageAlerts)
        .values(row)
        .onConflictDoUpdate({ target: storageAlerts.key, set: { ...row, key: undefined } }),
    ),
  );
}

export async function markAlertNotified(key: string, state: string): Promise<void> {
  await whenWriteLockFree(() => getDb().update(storageAlerts).set({ notifiedState: state }).where(eq(storageAlerts.key, key)));
}

export async function findEarliestSampleTime(): Promise<string | null> {
  const [row] = await getDb()
    .select({ at: isoOf("min", storageSamples.takenAt) })
    .from(storageSamples);
  return row?.at ?? null;
}
