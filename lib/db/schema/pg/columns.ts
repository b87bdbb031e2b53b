import { customType } from "drizzle-orm/pg-core";

/**
 * A point in time as PostgreSQL stores it (timestamptz, millisecond precision, the precision the app
 * writes), handed to and taken from the app as the same ISO-8601 UTC text SQLite keeps
 * ("2025-01-15T02:00:00.123Z"), so no query module or page sees a difference between the backends.
 * drizzle's node-postgres session returns timestamptz values as PostgreSQL's text
 * ("2025-01-15 02:00:00.123+00"); this turns that into the app's form.
 */
export const isoTimestamp = customType<{ data: string; driverData: string | Date }>({
  dataType() {
    return "timestamp(3) with time zone";
  },
  toDriver(value: string): string {
    return value;
  },
  fromDriver(value: string | Date): string {
    return pgTimestampToIso(value);
  },
});

const PG_TIMESTAMPTZ = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}(?::?\d{2}){0,2})?$/;

/** PostgreSQL's timestamptz output (any session TimeZone) as ISO-8601 UTC with milliseconds. */
export function pgTimestampToIso(value: string | Date): string {
  if (value instanceof Date) return value.toISOString();
  const match = PG_TIMESTAMPTZ.exec(value);
  if (!match) {
    // 'infinity' and BC dates cannot come from the app; hand them over as they are rather than invent a time.
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? value : new Date(parsed).toISOString();
  }
  const [, date, time, fraction = "", zone = "Z"] = match;
  const millis = (fraction.slice(1) + "000").slice(0, 3);
  // The app's sessions run in UTC: the text is already the instant, with no Date to build (a history page maps a hundred of these).
  if (zone === "+00" || zone === "Z") return `${date}T${time}.${millis}Z`;
  let offset = zone;
  if (zone !== "Z") {
    // "+05", "+0530", "+05:30", "+05:30:15" (historical zones): keep hours and minutes, the form Date.parse reads.
    const digits = zone.slice(1).replace(/:/g, "");
    offset = `${zone[0]}${digits.slice(0, 2)}:${(digits.slice(2, 4) || "00").padEnd(2, "0")}`;
  }
  return new Date(`${date}T${time}.${millis}${offset}`).toISOString();
}
