import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { isSafeName, resolveInside } from "@/lib/names";
import { findModeDrift, writeFileAtomic } from "@/lib/files";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-names-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test.each(["../x", "..", "a/b", "a\\b", "/etc/passwd", "%2e%2e", "a\0b", ".hidden", "", "x".repeat(200), "a..b", "名前"])("refuses %j", (name) => {
  expect(isSafeName(name)).toBe(false);
});

test.each(["20250115-020000", "daily_backup.yaml", "System.Backup", "mimir_data.tar.gz"])("accepts %j", (name) => {
  expect(isSafeName(name)).toBe(true);
});

test("resolveInside returns a path in the folder, refuses links and bad names, 404s a missing entry", async () => {
  fs.writeFileSync(path.join(dir, "ok.txt"), "x");
  fs.symlinkSync("/etc/passwd", path.join(dir, "link"));
  expect(await resolveInside(dir, "ok.txt")).toBe(path.join(fs.realpathSync(dir), "ok.txt"));
  await expect(resolveInside(dir, "link")).rejects.toMatchObject({ code: "invalid_name", status: 400 });
  await expect(resolveInside(dir, "../ok.txt")).rejects.toMatchObject({ code: "invalid_name" });
  await expect(resolveInside(dir, "missing")).rejects.toMatchObject({ status: 404 });
  expect(await resolveInside(dir, "missing", { mustExist: false })).toBe(path.join(fs.realpathSync(dir), "missing"));
});

test("writeFileAtomic replaces a file whole with mode 0600 and leaves no temp file", async () => {
  const file = path.join(dir, "config.yaml");
  fs.writeFileSync(file, "old", { mode: 0o644 });
  await writeFileAtomic(file, "new");
  expect(fs.readFileSync(file, "utf8")).toBe("new");
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  expect(fs.readdirSync(dir)).toEqual(["config.yaml"]);
});

test("findModeDrift flags folders not 0700 and files others may read, and accepts owner-only executables", async () => {
  fs.chmodSync(dir, 0o700);
  fs.mkdirSync(path.join(dir, "open"), { mode: 0o755 });
  fs.chmodSync(path.join(dir, "open"), 0o755);
  fs.writeFileSync(path.join(dir, "open", "leaky.db"), "x");
  fs.chmodSync(path.join(dir, "open", "leaky.db"), 0o644);
  fs.writeFileSync(path.join(dir, "plugin"), "#!/bin/sh");
  fs.chmodSync(path.join(dir, "plugin"), 0o700);
  fs.writeFileSync(path.join(dir, "private.db"), "x");
  fs.chmodSync(path.join(dir, "private.db"), 0o600);
  const { drift, truncated } = await findModeDrift([dir]);
  expect(truncated).toBe(false);
  expect(drift.map((d) => [path.relative(dir, d.path), d.kind, d.mode]).sort()).toEqual([
    ["open", "folder", "0755"],
    ["open/leaky.db", "file", "0644"],
  ]);
});
