import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, test } from "vitest";
import { APP_SECTION, DUMP_HEADER, DUMP_TRAILER, MIGRATIONS_SECTION } from "@/lib/db/engine/postgres/dump";
import { DumpFormatError, readDump } from "@/lib/db/engine/postgres/dump-reader";

const folder = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-dump-reader-"));
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

/** A dump as ./dump.ts writes it: statements, COPY blocks whose rows hold backslashes and `\.`-like text, an empty block, the trailer. */
const rows = ["1\tone\t\\N", "2\ta \\\\. and \\\\\\\\ inside\t{}", "3\t\\\\.\tx", "4\tlast\t\\t"];
const DUMP = [
  DUMP_HEADER,
  "SET client_encoding = 'UTF8';",
  MIGRATIONS_SECTION,
  'COPY "drizzle"."__drizzle_migrations" ("id", "hash") FROM stdin;',
  "1\tabc",
  "\\.",
  APP_SECTION,
  "CREATE TABLE t (",
  "  id integer",
  ");",
  'COPY "t" ("id", "name", "extra") FROM stdin;',
  ...rows,
  "\\.",
  'COPY "empty" ("id") FROM stdin;',
  "\\.",
  "SELECT 1;",
  DUMP_TRAILER,
  "",
].join("\n");

async function read(file: string, readBytes: number) {
  const items: unknown[] = [];
  for await (const item of readDump(file, readBytes)) {
    if (item.kind === "statement") items.push(item);
    else {
      let data = "";
      for await (const piece of item.data) data += piece.toString("utf8");
      items.push({ ...item, data });
    }
  }
  return items;
}

// The reader hands COPY the file's pieces, completing only the line that straddles two: every size
// from one byte up cuts the file at every place, inside a row, a marker line and a statement.
test("the dump reads the same, item by item and row by row, whatever the size of the pieces it is read in", async () => {
  const file = path.join(folder, "whole.sql");
  fs.writeFileSync(file, DUMP);
  const expected = [
    { kind: "statement", section: "preamble", sql: "SET client_encoding = 'UTF8';" },
    { kind: "copy", section: "migrations", schema: "drizzle", table: "__drizzle_migrations", columns: '"id", "hash"', data: "1\tabc\n" },
    { kind: "statement", section: "app", sql: "CREATE TABLE t (\n  id integer\n);" },
    { kind: "copy", section: "app", schema: null, table: "t", columns: '"id", "name", "extra"', data: rows.map((row) => `${row}\n`).join("") },
    { kind: "copy", section: "app", schema: null, table: "empty", columns: '"id"', data: "" },
    { kind: "statement", section: "app", sql: "SELECT 1;" },
  ];
  for (const size of [1, 2, 3, 5, 7, 13, 64, 512 * 1024]) expect(await read(file, size), `read ${size} bytes at a time`).toEqual(expected);
});

test("a dump cut inside a COPY block is refused as truncated, whatever the piece size", async () => {
  const file = path.join(folder, "cut.sql");
  fs.writeFileSync(file, DUMP.slice(0, DUMP.indexOf(rows[2]!) + 3));
  for (const size of [1, 4, 1024]) await expect(read(file, size)).rejects.toThrow(DumpFormatError);
});
