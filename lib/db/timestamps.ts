/**
 * Every timestamp is stored as ISO-8601 UTC text with milliseconds ("2025-01-15T02:00:00.123Z"):
 * it sorts as text, reads well in the sqlite3 CLI and in CSV. Mimir AIP's Go server wrote
 * "2025-01-15 02:00:00.123456789+00:00" (and variants); those are normalised when a database is
 * adopted, and read correctly wherever one slipped through.
 */
const GO_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?(?:\s+[A-Z]{2,5})?(?:\s+m=[+-][\d.]+)?$/;

/** ISO-8601 UTC with milliseconds, or null when the value is not a recognisable time. */
export function normaliseTimestamp(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number" || typeof value === "bigint") {
    const n = Number(value);
    // Seconds and milliseconds since the epoch are both seen in the wild; 1e11 s is year 5138.
    return new Date(n < 1e11 ? n * 1000 : n).toISOString();
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  const text = String(value).trim();
  const match = GO_TIMESTAMP.exec(text);
  if (!match) {
    const parsed = Date.parse(text);
    return Number.isNaN(parsed) ? null : new Date(parsed).toISOString();
  }
  const [, date, time, fraction = "0", zone = "Z"] = match;
  const millis = fraction.padEnd(3, "0").slice(0, 3);
  const offset = zone === "Z" ? "Z" : zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone;
  const parsed = Date.parse(`${date}T${time}.${millis}${offset}`);
  return Number.isNaN(parsed) ? null : new Date(parsed).toISOString();
}

/** The current time in the stored format. */
export function nowIso(): string {
  return new Date().toISOString();
}

/** Matches values already in the stored format, so normalisation can skip them in SQL (GLOB). */
export const ISO_TIMESTAMP_GLOB = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9]Z";

/** Columns that hold timestamps in Mimir's tables. */
export const MIMIR_TIMESTAMP_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  scheduled_jobs: ["next_run", "last_run", "created_at", "updated_at"],
  pipelines: ["created_at", "updated_at"],
  job_executions: ["start_time", "end_time"],
};
