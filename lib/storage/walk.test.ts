import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { LARGEST_FILES, scanFolder } from "@/lib/storage/walk";

const duBytes = (folder: string) => Number(execFileSync("du", ["-sb", folder], { encoding: "utf8" }).split("\t")[0]);

describe("scanFolder", () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-walk-"));
    for (let d = 0; d < 12; d++) {
      const dir = path.join(root, `dir-${d}`, "nested", `deep-${d % 3}`);
      fs.mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 40; f++) fs.writeFileSync(path.join(dir, `file-${f}.bin`), Buffer.alloc((d * 40 + f) * 37));
    }
    fs.mkdirSync(path.join(root, "empty"));
    fs.writeFileSync(path.join(root, "big.log"), Buffer.alloc(3_000_000));
    // A second name for the same 3 MB inode, and a symlink: du counts the inode once and the link's own bytes.
    fs.linkSync(path.join(root, "big.log"), path.join(root, "dir-0", "big-hardlink.log"));
    fs.symlinkSync(path.join(root, "big.log"), path.join(root, "big-symlink.log"));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test("sums a tree exactly as du -sb does, hard links once, symlinks not followed", async () => {
    const scan = await scanFolder(root);
    expect(scan.bytes).toBe(duBytes(root));
    expect(scan.files).toBe(12 * 40 + 2); // the hard link is the same file; the symlink is an entry of its own
    expect(scan.unreadable).toBe(0);
    expect(scan.exists).toBe(true);
  });

  test("keeps the largest files, biggest first", async () => {
    const scan = await scanFolder(root);
    expect(scan.largest).toHaveLength(LARGEST_FILES);
    expect(scan.largest[0]).toMatchObject({ bytes: 3_000_000 });
    const sizes = scan.largest.map((f) => f.bytes);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    expect(sizes[1]).toBe((11 * 40 + 39) * 37);
  });

  test("a missing folder is reported as absent, not as an error", async () => {
    const scan = await scanFolder(path.join(root, "not-there"));
    expect(scan).toMatchObject({ exists: false, bytes: 0, files: 0 });
  });

  test("yields to the event loop while it walks", async () => {
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const many = path.join(root, "many");
    for (let d = 0; d < 40; d++) {
      fs.mkdirSync(path.join(many, `d${d}`), { recursive: true });
      for (let f = 0; f < 250; f++) fs.writeFileSync(path.join(many, `d${d}`, `f${f}`), "x");
    }
    const started = performance.now();
    await scanFolder(many);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    // A walk long enough to span several slices lets timers run in between.
    if (elapsed > 40) expect(ticks).toBeGreaterThan(0);
    fs.rmSync(many, { recursive: true });
  });
});
