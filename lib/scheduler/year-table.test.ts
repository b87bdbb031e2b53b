import { describe, expect, test } from "vitest";
import { Cron } from "croner";
import { EVERY_YEAR, shareYearTable } from "@/lib/scheduler/engine";

// The scheduler makes every job's croner pattern share one year table (80 KB each otherwise: 80 MB idle with 1,000 jobs).
describe("croner year table", () => {
  test("a '*' year pattern shares the one table and fires as before", () => {
    const from = new Date("2026-03-29T00:30:00Z");
    for (const expr of ["0 * * * *", "*/15 9-17 * * 1-5", "0 3 L * *", "30 2 29 2 *"]) {
      const own = new Cron(expr, { paused: true, timezone: "Europe/Stockholm" });
      const shared = new Cron(expr, { paused: true, timezone: "Europe/Stockholm" });
      // croner's field, still there: an upgrade that renames it makes this fail rather than silently costing the memory again.
      expect((shared as unknown as { _states: { pattern: { year: number[] } } })._states.pattern.year).toHaveLength(10_000);
      shareYearTable(shared);
      expect((shared as unknown as { _states: { pattern: { year: unknown } } })._states.pattern.year).toBe(EVERY_YEAR);
      expect(shared.nextRuns(20, from).map(String)).toEqual(own.nextRuns(20, from).map(String));
      expect(shared.previousRuns(5, from).map(String)).toEqual(own.previousRuns(5, from).map(String));
    }
  });

  test("a pattern with a year of its own keeps its table", () => {
    const cron = new Cron("0 0 0 1 1 * 2030", { paused: true });
    shareYearTable(cron);
    expect((cron as unknown as { _states: { pattern: { year: unknown } } })._states.pattern.year).not.toBe(EVERY_YEAR);
  });
});
