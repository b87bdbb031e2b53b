import { describe, expect, it } from "vitest";
import crypto from "node:crypto";
import { canonical, checksumForm, copyField, INVALID, kindOfPgType, parseCopyLine, TableChecksum } from "@/lib/db/transfer/canonical";

describe("the canonical form both engines' rows are compared in", () => {
  it("reads Go-written timestamps as the app's ISO-8601 UTC with ms, truncating (not rounding) sub-ms digits, and refuses garbage", () => {
    expect(canonical("timestamp", "2025-01-15 02:00:00.123956789+00:00")).toBe("2025-01-15T02:00:00.123Z");
    expect(canonical("timestamp", "2025-01-15 12:30:00+01:00")).toBe("2025-01-15T11:30:00.000Z");
    expect(canonical("timestamp", 1736906400n)).toBe("2025-01-15T02:00:00.000Z");
    expect(canonical("timestamp", "2025-01-15T02:00:00.123Z")).toBe("2025-01-15T02:00:00.123Z");
    expect(canonical("timestamp", "next tuesday")).toBe(INVALID);
    expect(canonical("timestamp", null)).toBeNull();
  });

  it("takes SQLite's 0/1 and PostgreSQL's t/f as the same boolean, and nothing else", () => {
    expect([1n, 1, "t", true].map((v) => canonical("boolean", v))).toEqual(["t", "t", "t", "t"]);
    expect([0n, 0, "f", false].map((v) => canonical("boolean", v))).toEqual(["f", "f", "f", "f"]);
    expect(canonical("boolean", 2n)).toBe(INVALID);
  });

  it("keeps 64-bit integers exact and prints reals the same whichever engine printed them", () => {
    expect(canonical("integer", 9007199254740993n)).toBe("9007199254740993");
    expect(canonical("integer", "9007199254740993")).toBe("9007199254740993");
    expect(canonical("integer", "12abc")).toBe(INVALID);
    expect(canonical("real", "1.5e-07")).toBe(canonical("real", 1.5e-7));
    expect(canonical("real", 0.95)).toBe("0.95");
  });

  it("compares JSON by value, since jsonb keeps neither key order nor spacing", () => {
    expect(canonical("json", '{"b": 1, "a": [1, {"d": 2, "c": 3}]}')).toBe(canonical("json", '{"a":[1,{"c":3,"d":2}],"b":1}'));
    expect(canonical("json", "{not json")).toBe(INVALID);
  });

  it("refuses a NUL character, which PostgreSQL text cannot hold", () => {
    expect(canonical("text", "a\0b")).toBe(INVALID);
  });

  it("maps PostgreSQL's type names to kinds", () => {
    expect(["timestamp(3) with time zone", "boolean", "bigint", "integer", "double precision", "jsonb", "text"].map(kindOfPgType)).toEqual([
      "timestamp",
      "boolean",
      "integer",
      "integer",
      "real",
      "json",
      "text",
    ]);
  });
});

describe("COPY text format", () => {
  it("escapes and parses back tabs, newlines, backslashes, control characters and NULL", () => {
    const values = ["plain", "tab\there", "line\nbreak\r\n", "back\\slash \\N", "\b\f\v", null, "", "ünïcødé ✓"];
    const line = values.map(copyField).join("\t");
    expect(line).not.toContain("\n");
    expect(parseCopyLine(line)).toEqual(values);
  });

  it("reads PostgreSQL's octal and hex escapes", () => {
    expect(parseCopyLine("a\\101\\x42")).toEqual(["aAB"]);
  });
});

describe("TableChecksum", () => {
  it("does not depend on row order, and a duplicated row does not cancel out", () => {
    const rows = [
      ["1", "a"],
      ["2", null],
      ["3", "c"],
    ];
    const forward = new TableChecksum();
    const backward = new TableChecksum();
    for (const row of rows) forward.add(row);
    for (const row of [...rows].reverse()) backward.add(row);
    expect(forward.hex).toBe(backward.hex);
    const doubled = new TableChecksum();
    for (const row of [...rows, rows[0]!, rows[0]!]) doubled.add(row);
    expect(doubled.hex).not.toBe(forward.hex);
    const changed = new TableChecksum();
    for (const row of [
      ["1", "a"],
      ["2", ""],
      ["3", "c"],
    ])
      changed.add(row);
    expect(changed.hex).not.toBe(forward.hex);
  });
});

describe("TableChecksum's sum", () => {
  it("is the sum mod 2^64 of each row's first 8 SHA-1 bytes, carries and wrap-around included", () => {
    const rows = Array.from({ length: 300 }, (_, i) => [String(i), `row ${i}`]);
    const checksum = new TableChecksum();
    let expected = 0n;
    for (const row of rows) {
      checksum.add(row);
      expected = BigInt.asUintN(64, expected + crypto.hash("sha1", row.join("\t"), "buffer").readBigUInt64BE(0));
    }
    expect(checksum.hex).toBe(expected.toString(16).padStart(16, "0"));
  });
});

describe("a timestamp's checksum form", () => {
  it.each([
    ["2025-01-15T02:00:00.123Z", "2025-01-15 02:00:00.123"],
    ["2025-01-15T02:00:00.120Z", "2025-01-15 02:00:00.12"],
    ["2025-01-15T02:00:00.100Z", "2025-01-15 02:00:00.1"],
    ["2025-01-15T02:00:00.000Z", "2025-01-15 02:00:00"],
    ["0999-01-01T00:00:00.500Z", "0999-01-01 00:00:00.5"],
  ])("%s is hashed as PostgreSQL prints it in UTC: %s", (iso, printed) => {
    expect(checksumForm("timestamp", iso)).toBe(printed);
  });

  it("leaves NULL and the other kinds as their canonical text", () => {
    expect(checksumForm("timestamp", null)).toBeNull();
    expect(checksumForm("text", "2025-01-15T02:00:00.000Z")).toBe("2025-01-15T02:00:00.000Z");
  });
});
