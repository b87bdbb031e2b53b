import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { fsyncTree } from "@/lib/files";

test("fsyncTree flushes every file and folder of an extracted tree, and leaves links, pipes and skipped files alone", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsync-tree-"));
  try {
    fs.mkdirSync(path.join(root, "a", "b"), { recursive: true });
    fs.writeFileSync(path.join(root, "top.txt"), "top");
    fs.writeFileSync(path.join(root, "a", "b", "deep.bin"), Buffer.alloc(64 * 1024, 1));
    fs.writeFileSync(path.join(root, "a", "dump.sql"), "-- loaded, then deleted");
    // A restored volume may hold these: a dangling link must not fail the restore, and opening a pipe would wait for a writer.
    fs.symlinkSync(path.join(root, "gone"), path.join(root, "a", "dangling"));
    execFileSync("mkfifo", [path.join(root, "a", "pipe")]);

    expect(await fsyncTree(root)).toEqual({ files: 3, folders: 3 });
    expect(await fsyncTree(root, { skip: (file) => file === path.join(root, "a", "dump.sql") })).toEqual({ files: 2, folders: 3 });
    await expect(fsyncTree(path.join(root, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
