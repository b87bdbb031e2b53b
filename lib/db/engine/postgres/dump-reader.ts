import "server-only";
import fs from "node:fs";
import readline from "node:readline";
import { APP_SECTION, DUMP_HEADER, DUMP_TRAILER, MIGRATIONS_SECTION } from "./dump";

/** What a dump written by ./dump.ts is made of, in file order. */
export type DumpItem =
  | { kind: "statement"; section: DumpSection; sql: string }
  | {
      kind: "copy";
      section: DumpSection;
      /** the table as the dump names it: unqualified in the app section, schema-qualified for the migrations journal */
      schema: string | null;
      table: string;
      /** the quoted column list */
      columns: string;
      /** the data lines, each ending in \n, batched; must be read to the end before the next item */
      data: AsyncGenerator<string>;
    };
export type DumpSection = "preamble" | "migrations" | "app";

const COPY_LINE = /^COPY ((?:"(?:[^"]|"")*"\.)?"(?:[^"]|"")*") \((.*)\) FROM stdin;$/;
/** Data lines are handed to COPY in batches of about this many characters (one write per line is slow). */
const DATA_BATCH_CHARS = 256 * 1024;

export class DumpFormatError extends Error {}

/**
 * Reads a dump statement by statement and COPY block by COPY block, streaming the data. Throws
 * DumpFormatError on a file that is not a dump of ours, or that ends before its trailer (truncated):
 * since restore and verify run in one transaction, the throw rolls back whatever was read before it.
 */
export async function* readDump(file: string): AsyncGenerator<DumpItem> {
  const input = fs.createReadStream(file, { encoding: "utf8" });
  const lines = readline.createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
  try {
    const first = await lines.next();
    if (first.done || first.value !== DUMP_HEADER) throw new DumpFormatError("Not a PostgreSQL dump of this console: its first line is not the dump header");
    let section: DumpSection = "preamble";
    let statement: string[] = [];
    let complete = false;
    for (;;) {
      const next = await lines.next();
      if (next.done) break;
      const line = next.value;
      if (statement.length === 0) {
        if (line === DUMP_TRAILER) {
          complete = true;
          continue;
        }
        if (complete) throw new DumpFormatError("The dump has content after its trailer line");
        if (line === MIGRATIONS_SECTION || line === APP_SECTION) {
          section = line === MIGRATIONS_SECTION ? "migrations" : "app";
          continue;
        }
        if (line === "" || line.startsWith("--")) continue;
        const copy = COPY_LINE.exec(line);
        if (copy) {
          const [schema, table] = splitName(copy[1] ?? "");
          let ended = false;
          const data = async function* (): AsyncGenerator<string> {
            let batch = "";
            for (;;) {
              const row = await lines.next();
              if (row.done) throw new DumpFormatError(`The dump ends inside the rows of ${table} (truncated)`);
              if (row.value === "\\.") break;
              batch += `${row.value}\n`;
              if (batch.length >= DATA_BATCH_CHARS) {
                yield batch;
                batch = "";
              }
            }
            ended = true;
            if (batch) yield batch;
          };
          const rows = data();
          yield { kind: "copy", section, schema, table, columns: copy[2] ?? "", data: rows };
          if (!ended) for await (const unread of rows) void unread;
          continue;
        }
      }
      statement.push(line);
      if (line.endsWith(";")) {
        yield { kind: "statement", section, sql: statement.join("\n") };
        statement = [];
      }
    }
    if (!complete || statement.length > 0) throw new DumpFormatError("The dump ends before its trailer line (truncated)");
  } finally {
    input.destroy();
  }
}

/** `"schema"."table"` or `"table"` → [schema | null, table], unquoted. */
function splitName(quoted: string): [string | null, string] {
  const parts = quoted.match(/"(?:[^"]|"")*"/g) ?? [];
  const unquote = (part: string) => part.slice(1, -1).replaceAll('""', '"');
  const [first = '""', second] = parts;
  return second === undefined ? [null, unquote(first)] : [unquote(first), unquote(second)];
}
