import { describe, expect, it } from "vitest";
import { formatAge, formatBytes, formatCount, formatDuration, formatPercent, formatTimestamp } from "@/lib/format";

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
});
