/** Units of time in milliseconds, and the nanoseconds Mimir AIP stores durations in. Client-safe: no imports. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** job_executions.duration is in nanoseconds (Go's time.Duration). */
export const NS_PER_MS = 1_000_000;
