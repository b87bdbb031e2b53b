import { describe, expect, it } from "vitest";
import { normaliseTimestamp } from "@/lib/db/timestamps";

describe("normaliseTimestamp", () => {
  it.each([
    ["2025-01-15 02:00:00.123456789+00:00", "2025-01-15T02:00:00.123Z"],
    ["2025-01-15 02:00:00+00:00", "2025-01-15T02:00:00.000Z"],
    ["2025-01-15 12:30:00+01:00", "2025-01-15T11:30:00.000Z"],
    ["2025-01-15 02:00:00.5-0500", "2025-01-15T07:00:00.500Z"],
    ["2025-01-15 02:00:00.123456789 +0000 UTC", "2025-01-15T02:00:00.123Z"],
    ["2025-01-15 02:00:00.1 +0000 UTC m=+0.000123", "2025-01-15T02:00:00.100Z"],
    ["2025-01-15T02:00:00Z", "2025-01-15T02:00:00.000Z"],
    ["2025-01-15T02:00:00.123Z", "2025-01-15T02:00:00.123Z"],
    [1736906400, "2025-01-15T02:00:00.000Z"],
    [1736906400000, "2025-01-15T02:00:00.000Z"],
  ])("%s → %s", (input, expected) => {
    expect(normaliseTimestamp(input)).toBe(expected);
  });

  it.each([null, undefined, "", "not a time"])("returns null for %s", (input) => {
    expect(normaliseTimestamp(input)).toBeNull();
  });
});
