import { Cron } from "croner";
import cronstrue from "cronstrue";
import { AppError } from "@/lib/errors";

const FIVE_FIELDS = ["minute", "hour", "day of month", "month", "day of week"] as const;
const SIX_FIELDS = ["second", ...FIVE_FIELDS] as const;

/**
 * Checks a 5-field (minute precision) or 6-field (leading seconds) cron expression with croner, the
 * library that fires it, and names the offending field: "cron_expr: the hour field '25' is out of range".
 * Returns the expression with its whitespace normalised.
 */
export function validateCron(expr: string): string {
  const fields = expr.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    throw new AppError(
      "invalid_cron",
      `The schedule '${expr}' has ${fields.length === 1 ? "1 field" : `${fields.length} fields`}; a cron schedule needs 5, separated by spaces: minute, hour, day of month, month, day of week (or 6, with seconds first). Every 5 minutes is '*/5 * * * *'`,
      {
        details: { field: "cron_expr", value: expr, fields: fields.length },
      },
    );
  }
  const normalised = fields.join(" ");
  const problem = cronProblem(normalised);
  if (problem === null) return normalised;
  // Find the field to blame: test each one alone with every other field a wildcard.
  const names = fields.length === 6 ? SIX_FIELDS : FIVE_FIELDS;
  for (const [index, value] of fields.entries()) {
    const alone = fields.map((field, i) => (i === index ? field : "*")).join(" ");
    if (cronProblem(alone) !== null) {
      throw new AppError("invalid_cron", `The schedule '${normalised}' is invalid: the ${names[index]} field '${value}' is not valid (${problem})`, {
        details: { field: "cron_expr", cron_field: names[index], value },
      });
    }
  }
  throw new AppError("invalid_cron", `The schedule '${normalised}' is invalid: ${problem}`, { details: { field: "cron_expr", value: normalised } });
}

/** Fires looked at to find an expression's shortest gap: enough to cover every field's pattern near its start. */
const FIRES_CHECKED = 1000;

/**
 * Throws 422 cron_too_frequent when two consecutive fires of `expr` (among its next FIRES_CHECKED,
 * where a burst such as "every second on January 1st" shows at once) are less than `minSeconds` apart.
 */
export function assertCronInterval(expr: string, minSeconds: number): void {
  const runs = new Cron(expr, { paused: true }).nextRuns(FIRES_CHECKED);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i += 1) shortest = Math.min(shortest, runs[i]!.getTime() - runs[i - 1]!.getTime());
  if (shortest < minSeconds * 1000) {
    throw new AppError(
      "cron_too_frequent",
      `cron_expr '${expr}' fires ${shortest / 1000} s apart; jobs may fire at most once every ${minSeconds} s (scheduler.min_interval_seconds)`,
      { details: { field: "cron_expr", value: expr, shortest_seconds: shortest / 1000, min_interval_seconds: minSeconds } },
    );
  }
}

function cronProblem(expr: string): string | null {
  try {
    const cron = new Cron(expr, { paused: true });
    // A pattern such as "0 0 31 2 *" parses but never fires: as useless to a scheduler as a typo.
    if (cron.nextRun() === null) return "it never fires";
    return null;
  } catch (error) {
    return (error as Error).message.replace(/^CronPattern:\s*/, "");
  }
}

/** The next time an expression fires after `from`, as stored ISO text (null if it never does). */
export function nextRunOf(expr: string, from: Date = new Date()): string | null {
  try {
    return new Cron(expr, { paused: true }).nextRun(from)?.toISOString() ?? null;
  } catch {
    return null;
  }
}

/** "0 2 * * *" → "At 02:00"; an expression cronstrue cannot read is shown as it is. */
export function describeCron(expr: string): string {
  try {
    return cronstrue.toString(expr, { use24HourTimeFormat: true, verbose: true });
  } catch {
    return expr;
  }
}

/**
 * The scheduled time a fire of `expr` at `at` belongs to: the latest time of the pattern at or before
 * `at`. Every instance derives the same slot from the pattern whatever its own clock says, so the slot
 * (not the moment a timer went off) is the key that lets exactly one instance run each fire.
 */
export function slotOf(expr: string, at: Date): Date | null {
  return new Cron(expr, { paused: true }).previousRuns(1, new Date(at.getTime() + 1))[0] ?? null;
}
