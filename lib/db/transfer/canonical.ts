import crypto from "node:crypto";
import { normaliseTimestamp } from "@/lib/db/timestamps";

/**
 * The one canonical form both engines' rows are reduced to, so a copy between SQLite and PostgreSQL
 * can be checked by comparing checksums computed by the same function over each side. The column's
 * kind comes from the PostgreSQL schema (the typed side): SQLite stores timestamps as text and
 * booleans as 0/1, and Mimir AIP's Go server wrote some of them differently.
 */
export type ColumnKind = "text" | "json" | "integer" | "real" | "boolean" | "timestamp";

/** A value that has no canonical form in its column's kind (the preflight lists these). */
export const INVALID = Symbol("invalid");

/** The kind of a PostgreSQL type as information_schema or drizzle's getSQLType() spells it. */
export function kindOfPgType(sqlType: string): ColumnKind {
  const type = sqlType.toLowerCase();
  if (type.startsWith("timestamp")) return "timestamp";
  if (type === "boolean" || type === "bool") return "boolean";
  if (/^(bigint|integer|smallint|int[248]?|bigserial|serial|smallserial)\b/.test(type)) return "integer";
  if (/^(double precision|real|float[48]?|numeric|decimal)\b/.test(type)) return "real";
  if (type === "jsonb" || type === "json") return "json";
  return "text";
}

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const INTEGER_TEXT = /^-?\d+$/;

/**
 * The canonical text of one value, null for SQL NULL, INVALID when the value cannot be stored in a
 * column of that kind. Idempotent: a canonical value canonicalises to itself, which is what lets
 * the target's read-back (PostgreSQL's COPY text, or SQLite's typed values) be compared with the source.
 */
export function canonical(kind: ColumnKind, value: unknown): string | null | typeof INVALID {
  if (value === null || value === undefined) return null;
  switch (kind) {
    case "text":
      if (typeof value === "string") return value.includes("\0") ? INVALID : value;
      if (typeof value === "number" || typeof value === "bigint") return String(value);
      return INVALID;
    case "timestamp": {
      if (typeof value === "string" && ISO_MS.test(value)) return value;
      // The app's truncation to ms (normaliseTimestamp), not PostgreSQL's rounding of sub-ms digits.
      const iso = normaliseTimestamp(value);
      return iso === null || iso.length !== 24 ? INVALID : iso;
    }
    case "boolean":
      if (value === 1 || value === 1n || value === true || value === "t" || value === "1" || value === "true") return "t";
      if (value === 0 || value === 0n || value === false || value === "f" || value === "0" || value === "false") return "f";
      return INVALID;
    case "integer":
      if (typeof value === "bigint") return value.toString();
      if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : INVALID;
      if (typeof value === "string" && INTEGER_TEXT.test(value)) return BigInt(value).toString();
      return INVALID;
    case "real": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : typeof value === "number" || typeof value === "bigint" ? Number(value) : NaN;
      // PostgreSQL prints 1.5e-07 where JavaScript prints 1.5e-7: both go through Number.
      return Number.isNaN(n) && value !== "NaN" ? INVALID : String(n);
    }
    case "json": {
      if (typeof value !== "string") return INVALID;
      try {
        // jsonb keeps neither key order nor spacing: compare the parsed value with sorted keys.
        return stableJson(JSON.parse(value));
      } catch {
        return INVALID;
      }
    }
  }
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * How a canonical value enters a row's checksum in a copy to PostgreSQL: as the target prints it back,
 * so the verification can hash PostgreSQL's COPY TO lines as they come, and the one conversion is done
 * on the source side, during the copy, instead of after it. For a timestamp that is `AT TIME ZONE 'UTC'`
 * under DateStyle ISO: "2025-01-15 02:00:00.12" (no zone, trailing zeros of the fraction dropped);
 * every other kind is its canonical text.
 */
export function checksumForm(kind: ColumnKind, value: string | null): string | null {
  if (value === null || kind !== "timestamp") return value;
  const fraction = value.slice(20, 23).replace(/0+$/, "");
  return `${value.slice(0, 10)} ${value.slice(11, 19)}${fraction ? `.${fraction}` : ""}`;
}

/** What canonical() refuses, in words for the preflight. */
export function describeInvalid(kind: ColumnKind): string {
  switch (kind) {
    case "timestamp":
      return "not a timestamp that can be read";
    case "boolean":
      return "not a boolean (0/1)";
    case "integer":
      return "not an integer within 64 bits";
    case "real":
      return "not a number";
    case "json":
      return "not valid JSON";
    case "text":
      return "binary data or a NUL character, which PostgreSQL text cannot hold";
  }
}

/**
 * An order-independent checksum of a table: the sum, mod 2^64, of the first 8 bytes of each row's
 * SHA-1 (it detects a wrong or missing row, which is all it is for; nobody picks the rows against it,
 * and SHA-1 costs a fifth of SHA-256 per row on CPUs without SHA extensions). Sums rather than XOR so a duplicated row does not cancel out; no ORDER BY is needed, so it
 * does not depend on either engine's collation and streams in constant memory. A row is hashed in
 * its COPY text encoding (encodeRow) of the values' checksum forms (checksumForm), which tells every
 * list of values apart (tabs, newlines, backslashes and NULL are escaped) and is what PostgreSQL's
 * COPY TO prints back.
 */
export class TableChecksum {
  rows = 0;
  // The 64-bit sum as two 32-bit halves in plain numbers: a BigInt per row was a third of the hashing's cost.
  private high = 0;
  private low = 0;

  add(values: readonly (string | null)[]): void {
    this.addLine(encodeRow(values));
  }

  /** A row already encoded by encodeRow (or printed so by PostgreSQL's COPY TO, which is the same text). */
  addLine(line: string): void {
    const digest = crypto.hash("sha1", line, "buffer");
    const low = this.low + digest.readUInt32BE(4);
    const carry = low >= TWO_TO_32 ? 1 : 0;
    this.low = low - carry * TWO_TO_32;
    this.high = (this.high + digest.readUInt32BE(0) + carry) % TWO_TO_32;
    this.rows += 1;
  }

  get hex(): string {
    return this.high.toString(16).padStart(8, "0") + this.low.toString(16).padStart(8, "0");
  }
}

const TWO_TO_32 = 2 ** 32;

/** One row as a line of COPY text (without its newline). */
export function encodeRow(values: readonly (string | null)[]): string {
  let line = copyField(values[0] ?? null);
  for (let i = 1; i < values.length; i += 1) line += `\t${copyField(values[i]!)}`;
  return line;
}

/**
 * Kinds whose PostgreSQL COPY output is already their checksum form (checksumForm; timestamps read as
 * `AT TIME ZONE 'UTC'` under DateStyle ISO), so a row of only these can be hashed as PostgreSQL prints
 * it. Reals (1.5e-07) and JSON (jsonb's spacing) are not, and go through the canonicaliser.
 */
export const PRINTED_CANONICALLY: ReadonlySet<ColumnKind> = new Set(["text", "integer", "boolean", "timestamp"]);

/** COPY text format: NULL is \N, and backslash, newline, carriage return, tab, and \b \f \v are escaped (as PostgreSQL's COPY TO does). */
export function copyField(value: string | null): string {
  if (value === null) return "\\N";
  return /[\\\n\r\t\b\f\v]/.test(value) ? value.replace(/[\\\n\r\t\b\f\v]/g, (c) => COPY_ESCAPES[c]!) : value;
}

const COPY_ESCAPES: Record<string, string> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\v": "\\v" };
const COPY_UNESCAPES: Record<string, string> = { "\\": "\\", n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v" };

/** One line of COPY text output (without its newline) back to its fields. */
export function parseCopyLine(line: string): (string | null)[] {
  return line.split("\t").map((field) => {
    if (field === "\\N") return null;
    if (!field.includes("\\")) return field;
    return field.replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (_, code: string) => {
      if (code.length > 1 || /[0-7]/.test(code))
        return code[0] === "x" ? String.fromCharCode(parseInt(code.slice(1), 16)) : String.fromCharCode(parseInt(code, 8));
      return COPY_UNESCAPES[code] ?? code;
    });
  });
}
