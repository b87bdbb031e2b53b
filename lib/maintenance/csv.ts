/**
 * CSV per RFC 4180, shared by the streamed table export (server) and the query console's download
 * (browser). Pure: no Node or database imports.
 */

export type CsvValue = string | number | bigint | boolean | null | undefined | Uint8Array | { blob_bytes: number; hex: string };

/** Spreadsheets run a cell that starts with one of these as a formula (CSV injection, ASVS 1.2.10). */
const FORMULA_START = /^[=+\-@\t\r\0]/;

/** One CSV field per RFC 4180: quoted when it holds a comma, quote, CR or LF, quotes doubled. */
export function csvField(value: CsvValue): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  let text: string;
  if (value instanceof Uint8Array) text = Array.from(value, (byte) => byte.toString(16).padStart(2, "0")).join("");
  else if (typeof value === "object") text = value.hex;
  else text = value;
  if (FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: CsvValue[]): string {
  return `${values.map(csvField).join(",")}\r\n`;
}
