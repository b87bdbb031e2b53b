import { expect, test } from "vitest";
import { formatBytes, formatBytesChange, formatHoursLeft, formatPercent } from "@/lib/format";

test.each([
  [0, "0 B"],
  [1536, "1.50 KB"],
  [2 * 1024 ** 3, "2.00 GB"],
  [null, "—"],
])("formatBytes(%s) = %s", (bytes, text) => expect(formatBytes(bytes)).toBe(text));

test.each([
  [0, "±0 B"],
  [1536, "+1.50 KB"],
  [-3 * 1024 ** 2, "−3.00 MB"],
  [null, "—"],
  [Number.NaN, "—"],
])("formatBytesChange(%s) = %s", (bytes, text) => expect(formatBytesChange(bytes)).toBe(text));

test.each([
  [0.25, "15 min"],
  [0.001, "1 min"],
  [5.2, "5 h"],
  [47.6, "48 h"],
  [50, "2.1 d"],
  [24 * 40, "40 d"],
  [24 * 400, "over a year"],
  [Infinity, "—"],
  [null, "—"],
])("formatHoursLeft(%s) = %s", (hours, text) => expect(formatHoursLeft(hours)).toBe(text));

test("formatPercent", () => expect(formatPercent(0.1234)).toBe("12.3%"));
