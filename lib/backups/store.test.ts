import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { backupsFolder, cleanLeftovers, removeOffTheLoop } from "@/lib/backups/store";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";

let root: TestDataRoot;
beforeEach(() => {
  root = createTestDataRoot();
  fs.mkdirSync(backupsFolder(), { recursive: true });
});
afterEach(() => root.cleanup());

test("a scratch file removed off the event loop leaves its name at once, and nothing once removed", async () => {
  const file = path.join(backupsFolder(), ".restore-postgres.sql");
  fs.writeFileSync(file, "x".repeat(1024 * 1024));
  const removal = removeOffTheLoop(file);
  // Renamed before the first await: a kill from here on leaves a leftover the next start removes, not the file.
  expect(fs.existsSync(file)).toBe(false);
  await removal;
  expect(fs.readdirSync(backupsFolder())).toEqual([]);
  await expect(removeOffTheLoop(file)).resolves.toBeUndefined();
});

test("what a killed removal left behind is a leftover the next start removes", () => {
  fs.writeFileSync(path.join(backupsFolder(), ".deleting-0123456789ab"), "half-removed");
  expect(cleanLeftovers()).toEqual([".deleting-0123456789ab"]);
  expect(fs.readdirSync(backupsFolder())).toEqual([]);
});
