import { describe, expect, test } from "vitest";
import { describeCron, nextRunOf, validateCron } from "@/lib/jobs/cron";
import { isAppError } from "@/lib/errors";

function cronError(expr: string) {
  try {
    validateCron(expr);
  } catch (error) {
    if (isAppError(error)) return error;
  }
  throw new Error(`expected ${expr} to be refused`);
}

describe("cron", () => {
  test("accepts 5 and 6 fields", () => {
    expect(validateCron(" 0  2 * * * ")).toBe("0 2 * * *");
    expect(validateCron("*/5 * * * * *")).toBe("*/5 * * * * *");
  });

  test.each([
    ["0 25 * * *", "hour", "25"],
    ["61 * * * *", "minute", "61"],
    ["0 0 32 * *", "day of month", "32"],
    ["0 0 * 13 *", "month", "13"],
    ["0 0 * * 9", "day of week", "9"],
    ["99 0 0 * * *", "second", "99"],
  ])("%s names the %s field", (expr, field, value) => {
    const error = cronError(expr);
    expect(error.code).toBe("invalid_cron");
    expect(error.status).toBe(400);
    expect(error.message).toContain(`the ${field} field '${value}'`);
    expect(error.details).toMatchObject({ field: "cron_expr", cron_field: field });
  });

  test("refuses the wrong number of fields and expressions that never fire", () => {
    expect(cronError("* * *").message).toContain("has 3 fields; a cron schedule needs 5");
    expect(cronError("0 0 30 2 *").message).toContain("never fires");
  });

  test("describes and computes the next run", () => {
    expect(describeCron("0 2 * * *")).toBe("At 02:00, every day");
    expect(nextRunOf("0 2 * * *", new Date("2025-01-15T03:00:00Z"))).toMatch(/^2025-01-1[56]T/);
  });
});
