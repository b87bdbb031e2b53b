import { describe, expect, it } from "vitest";
import {
  formatAge,
  formatBytes,
  formatBytesChange,
  formatCount,
  formatDuration,
  formatDurationTick,
  formatHoursLeft,
  formatPercent,
  formatTimestamp,
} from "@/lib/format";

describe("format", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1536, "1.50 KB"],
    [10 * 1024 * 1024, "10.0 MB"],
    [250 * 1024 ** 3, "250 GB"],
    [null, "—"],
  ])("formatBytes(%s) = %s", (input, expected) => expect(formatBytes(input)).toBe(expected));

  it.each([
    [420, "420 ms"],
    [93_000, "1m 33s"],
    [3_723_000, "1h 2m"],
    [90_000_000, "1d 1h"],
  ])("formatDuration(%s) = %s", (input, expected) => expect(formatDuration(input)).toBe(expected));

  it("formats timestamps, ages, counts and ratios", () => {
    expect(formatTimestamp("2025-01-15T02:00:00.123Z")).toBe("2025-01-15 02:00:00 UTC");
    const now = Date.parse("2025-01-15T12:00:00Z");
    expect(formatAge("2025-01-15T11:57:00Z", now)).toBe("3 min ago");
    expect(formatAge("2025-01-13T12:00:00Z", now)).toBe("2 d ago");
    expect(formatAge(null, now)).toBe("never");
    expect(formatCount(1234567)).toBe("1,234,567");
    expect(formatPercent(0.3123)).toBe("31.2%");
  });

  it.each([
    [0, "±0 B"],
    [1536, "+1.50 KB"],
    [-3 * 1024 ** 2, "−3.00 MB"],
    [null, "—"],
    [Number.NaN, "—"],
  ])("formatBytesChange(%s) = %s", (input, expected) => expect(formatBytesChange(input)).toBe(expected));

  it.each([
    [0.25, "15 min"],
    [0.001, "1 min"],
    [5.2, "5 h"],
    [47.6, "48 h"],
    [50, "2.1 d"],
    [24 * 40, "40 d"],
    [24 * 400, "over a year"],
    [Infinity, "—"],
    [null, "—"],
  ])("formatHoursLeft(%s) = %s", (input, expected) => expect(formatHoursLeft(input)).toBe(expected));

  // B7: one unit per axis, chosen by its largest value: never "0 ms" beside "9s"
  it.each([
    [0, 9000, "0 s"],
    [2500, 9000, "2.5 s"],
    [1000, 1500, "1,000 ms"],
    [9000, 9000, "9 s"],
    [12_000, 15_000, "12 s"],
    [0, 600, "0 ms"],
    [450, 600, "450 ms"],
    [30 * 60_000, 60 * 60_000, "30 min"],
    [90 * 60_000, 3 * 3_600_000, "1.5 h"],
  ])("formatDurationTick(%s, max %s) = %s", (ms, max, expected) => expect(formatDurationTick(ms, max)).toBe(expected));

  it("axis ticks of one axis share one unit", () => {
    const units = [0, 3000, 6000, 9000].map((ms) => formatDurationTick(ms, 9000).split(" ")[1]);
    expect(new Set(units).size).toBe(1);
  });
});
