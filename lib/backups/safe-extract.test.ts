import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { extractTarSafely } from "@/lib/backups/safe-extract";

/**
 * A file diverted out of an archive as it is extracted (a PostgreSQL restore loads the set's dump
 * that way): its reader gets every byte, paced as it reads, and never hangs on a failed extraction.
 * The archives are written by stock tar.
 */

const LIMITS = { maxBytes: 1 << 30, maxEntries: 1000 };
let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "safe-extract-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** An archive of `files` (name → bytes), in that order, by stock tar; returns its bytes. */
function archiveOf(files: [string, Buffer][]): Buffer {
  const source = path.join(dir, "source");
  fs.mkdirSync(source, { recursive: true });
  for (const [name, bytes] of files) fs.writeFileSync(path.join(source, name), bytes);
  const file = path.join(dir, "set.tar");
  execFileSync("tar", ["cf", file, "-C", source, ...files.map(([name]) => name)]);
  return fs.readFileSync(file);
}

/** The archive in pieces of 64 KiB, as the gunzip stage hands them on; `failAt` throws once that many bytes are out. */
async function* piecesOf(archive: Buffer, failAt = Infinity): AsyncGenerator<Buffer> {
  for (let at = 0; at < archive.length; at += 64 * 1024) {
    if (at >= failAt) throw new Error("the disk could not be read");
    yield archive.subarray(at, at + 64 * 1024);
  }
}

const sha256 = (bytes: Buffer) => crypto.createHash("sha256").update(bytes).digest("hex");

describe("a diverted file", () => {
  test("reaches its reader whole and in order, paced by the reader, and is not written; the files around it are", async () => {
    const dump = crypto.randomBytes(3 * 1024 * 1024 + 17);
    const archive = archiveOf([
      ["before.txt", Buffer.from("before\n")],
      ["dump.sql", dump],
      ["after.txt", Buffer.from("after\n")],
    ]);
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const received: Buffer[] = [];
    let pieces = 0;
    let read!: Promise<unknown>;
    const result = await extractTarSafely(piecesOf(archive), out, LIMITS, {
      path: "dump.sql",
      read: (bytes) =>
        (read = (async () => {
          for await (const piece of bytes) {
            received.push(Buffer.from(piece));
            pieces += 1;
            // A slow reader (a database load): the archive waits for it.
            await nextTurn();
          }
        })()),
    });
    await read;
    expect(sha256(Buffer.concat(received))).toBe(sha256(dump));
    expect(pieces).toBeGreaterThan(1);
    expect(result.files).toBe(3);
    expect(fs.readdirSync(out).sort()).toEqual(["after.txt", "before.txt"]);
    expect(fs.readFileSync(path.join(out, "after.txt"), "utf8")).toBe("after\n");
  });

  test("a reader that stops early has the rest skipped: the extraction ends with the files after it", async () => {
    const archive = archiveOf([
      ["dump.sql", crypto.randomBytes(2 * 1024 * 1024)],
      ["after.txt", Buffer.from("after\n")],
    ]);
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const result = await extractTarSafely(piecesOf(archive), out, LIMITS, {
      path: "dump.sql",
      read: async (bytes) => {
        for await (const piece of bytes) {
          void piece;
          throw new Error("the load failed");
        }
      },
    });
    expect(result.files).toBe(2);
    expect(fs.readdirSync(out)).toEqual(["after.txt"]);
  });

  test("a reader that never reads does not hold the extraction", async () => {
    const archive = archiveOf([
      ["dump.sql", crypto.randomBytes(1024 * 1024)],
      ["after.txt", Buffer.from("after\n")],
    ]);
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    await extractTarSafely(piecesOf(archive), out, LIMITS, { path: "dump.sql", read: () => Promise.reject(new Error("no connection")) });
    expect(fs.readdirSync(out)).toEqual(["after.txt"]);
  });

  test("an extraction that fails midway fails the reader too, with the extraction's error, instead of leaving it waiting", async () => {
    const archive = archiveOf([["dump.sql", crypto.randomBytes(2 * 1024 * 1024)]]);
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    let read!: Promise<number>;
    const extraction = extractTarSafely(piecesOf(archive, 1024 * 1024), out, LIMITS, {
      path: "dump.sql",
      read: (bytes) =>
        (read = (async () => {
          let total = 0;
          for await (const piece of bytes) total += piece.length;
          return total;
        })()),
    });
    await expect(extraction).rejects.toThrow("the disk could not be read");
    await expect(read).rejects.toThrow("the disk could not be read");
  });

  test("an archive holding the diverted file twice is refused", async () => {
    const source = path.join(dir, "source");
    fs.mkdirSync(source);
    fs.writeFileSync(path.join(source, "dump.sql"), "first\n");
    const file = path.join(dir, "set.tar");
    execFileSync("tar", ["cf", file, "-C", source, "dump.sql"]);
    fs.writeFileSync(path.join(source, "dump.sql"), "second\n");
    execFileSync("tar", ["rf", file, "-C", source, "dump.sql"]);
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    const readers: Promise<unknown>[] = [];
    await expect(
      extractTarSafely(piecesOf(fs.readFileSync(file)), out, LIMITS, {
        path: "dump.sql",
        read: (bytes) => {
          const reading = (async () => {
            for await (const piece of bytes) void piece;
          })();
          readers.push(reading);
          return reading;
        },
      }),
    ).rejects.toMatchObject({ code: "invalid_archive", message: expect.stringContaining("dump.sql twice") });
    expect(readers).toHaveLength(1);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});
