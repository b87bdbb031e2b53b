import "server-only";
import fs from "node:fs";
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
      /**
       * the data lines as the file holds them (whole lines, each ending in \n); must be read to the end
       * before the next item. A piece is valid until the next one is asked for: the reader reads the
       * file into the same memory again (copy it to keep it; copyIn writes each before asking on).
       */
      data: AsyncGenerator<Buffer>;
    };
export type DumpSection = "preamble" | "migrations" | "app";

const COPY_LINE = /^COPY ((?:"(?:[^"]|"")*"\.)?"(?:[^"]|"")*") \((.*)\) FROM stdin;$/;
/**
 * The file is read in pieces of this size, and a COPY block's rows go to the database as they were
 * read, never split into lines or decoded: a 1 GB dump read line by line as JS strings kept a core
 * busy and the heap at ~90 MB beside the load (bench:restore-server on PostgreSQL). The pieces are
 * read into two buffers in turn, not a new one each: a gigabyte of fresh buffers made V8 collect its
 * whole heap every ~100 ms of the load (8-19 ms pauses of the serving event loop, bench:beside-maintenance).
 */
const READ_BYTES = 512 * 1024;
const NEWLINE = 0x0a;
/** The line that ends a COPY block. A row never reads `\.`: COPY's text format writes a backslash in a value as `\\`. */
const END_OF_COPY = Buffer.from("\\.\n");
const END_OF_COPY_AFTER_ROW = Buffer.from("\n\\.\n");

export class DumpFormatError extends Error {}

/**
 * A dump: its file, or its bytes as they come (a restore loads the dump while it is being extracted
 * from the set's archive, see lib/backups/safe-extract.ts).
 */
export type DumpSource = string | AsyncIterable<Buffer>;

/**
 * Reads a dump statement by statement and COPY block by COPY block, streaming the data (a file
 * `readBytes` at a time: tests read in tiny pieces, so that every line straddles two). Throws
 * DumpFormatError on a file that is not a dump of ours, or that ends before its trailer (truncated):
 * since restore and verify run in one transaction, the throw rolls back whatever was read before it.
 */
export async function* readDump(source: DumpSource, readBytes = READ_BYTES): AsyncGenerator<DumpItem> {
  const pieces = typeof source === "string" ? await filePieces(source, readBytes) : streamPieces(source);
  const reader = new DumpBytes(pieces.next);
  try {
    if ((await reader.line()) !== DUMP_HEADER) throw new DumpFormatError("Not a PostgreSQL dump of this console: its first line is not the dump header");
    let section: DumpSection = "preamble";
    let statement: string[] = [];
    let complete = false;
    for (;;) {
      const line = await reader.line();
      if (line === null) break;
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
          const rows = reader.copyData(table);
          yield { kind: "copy", section, schema, table, columns: copy[2] ?? "", data: rows };
          // Whatever the consumer left unread is skipped, so the next item starts after the block.
          for await (const unread of rows) void unread;
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
    await pieces.close();
  }
}

/** The source's next piece (null at its end), and what releases it, whether it was read to the end or not. */
interface Pieces {
  next: () => Promise<Buffer | null>;
  close: () => Promise<unknown>;
}

/**
 * The file's pieces, read into one of two buffers in turn. A piece stays valid while the next one is
 * read, which is all DumpBytes needs: it copies a line that straddles two pieces (read), and it reads
 * only when its consumer asks for more, having finished with what it was given before.
 */
async function filePieces(file: string, readBytes: number): Promise<Pieces> {
  const input = await fs.promises.open(file, "r");
  const buffers = [Buffer.allocUnsafeSlow(readBytes), Buffer.allocUnsafeSlow(readBytes)];
  let turn = 0;
  return {
    next: async () => {
      const buffer = buffers[turn]!;
      turn = 1 - turn;
      const { bytesRead } = await input.read(buffer, 0, buffer.length, null);
      return bytesRead === 0 ? null : buffer.subarray(0, bytesRead);
    },
    close: () => input.close(),
  };
}

/** A stream's pieces as they come; closing it early tells the stream that nobody reads the rest. */
function streamPieces(source: AsyncIterable<Buffer>): Pieces {
  const iterator = source[Symbol.asyncIterator]();
  return {
    next: async () => {
      const { done, value } = await iterator.next();
      return done ? null : value;
    },
    close: async () => iterator.return?.(),
  };
}

/** The file's bytes, always cut at a line start: as lines outside COPY blocks, as whole-line pieces inside them. */
class DumpBytes {
  private pending: Buffer = Buffer.alloc(0);
  /** the rest of a piece whose first line completed `pending` (see read) */
  private queued: Buffer | null = null;
  private ended = false;
  private copying = false;

  constructor(private readonly nextPiece: Pieces["next"]) {}

  /** The next line without its line end, or null at the end of the file. */
  async line(): Promise<string | null> {
    for (;;) {
      const at = this.pending.indexOf(NEWLINE);
      if (at !== -1) {
        const end = at > 0 && this.pending[at - 1] === 0x0d ? at - 1 : at;
        const line = this.pending.toString("utf8", 0, end);
        this.pending = this.pending.subarray(at + 1);
        return line;
      }
      if (!(await this.read())) {
        if (this.pending.length === 0) return null;
        const line = this.pending.toString("utf8");
        this.pending = Buffer.alloc(0);
        return line;
      }
    }
  }

  /** A COPY block's rows in pieces of whole lines, up to (and past) its `\.` line. */
  async *copyData(table: string): AsyncGenerator<Buffer> {
    if (this.copying) throw new Error("A COPY block is already being read");
    this.copying = true;
    try {
      for (;;) {
        if (this.pending.subarray(0, END_OF_COPY.length).equals(END_OF_COPY)) {
          this.pending = this.pending.subarray(END_OF_COPY.length);
          return;
        }
        const last = this.pending.lastIndexOf(NEWLINE);
        if (last !== -1) {
          const lines = this.pending.subarray(0, last + 1);
          const end = lines.indexOf(END_OF_COPY_AFTER_ROW);
          if (end !== -1) {
            const rows = this.pending.subarray(0, end + 1);
            this.pending = this.pending.subarray(end + END_OF_COPY_AFTER_ROW.length);
            yield rows;
            return;
          }
          // Keep the line `\.` could still be the start of: the last, if it lacks its newline yet.
          this.pending = this.pending.subarray(last + 1);
          yield lines;
          continue;
        }
        if (!(await this.read())) throw new DumpFormatError(`The dump ends inside the rows of ${table} (truncated)`);
      }
    } finally {
      this.copying = false;
    }
  }

  /**
   * Adds the next piece of the file to what is pending, which is empty or a line's start. The line is
   * completed with a copy of the next piece up to its first newline, and the piece's rest waits in
   * `queued`, uncopied, until everything before it is taken: the bytes of a COPY block are copied
   * once per piece only for the line that straddles two, not the whole piece. A half-GB dump read
   * that way is half the buffers for the garbage collector, whose full collections paused the event
   * loop beside the load every ~100 ms (bench:beside-maintenance on PostgreSQL).
   */
  private async read(): Promise<boolean> {
    if (this.queued) {
      this.pending = this.pending.length === 0 ? this.queued : Buffer.concat([this.pending, this.queued]);
      this.queued = null;
      return true;
    }
    if (this.ended) return false;
    const piece = await this.nextPiece();
    if (piece === null) {
      this.ended = true;
      return false;
    }
    const newline = this.pending.length === 0 ? -1 : piece.indexOf(NEWLINE);
    if (newline === -1 || newline === piece.length - 1) {
      this.pending = this.pending.length === 0 ? piece : Buffer.concat([this.pending, piece]);
    } else {
      this.pending = Buffer.concat([this.pending, piece.subarray(0, newline + 1)]);
      this.queued = piece.subarray(newline + 1);
    }
    return true;
  }
}

/** `"schema"."table"` or `"table"` → [schema | null, table], unquoted. */
function splitName(quoted: string): [string | null, string] {
  const parts = quoted.match(/"(?:[^"]|"")*"/g) ?? [];
  const unquote = (part: string) => part.slice(1, -1).replaceAll('""', '"');
  const [first = '""', second] = parts;
  return second === undefined ? [null, unquote(first)] : [unquote(first), unquote(second)];
}
