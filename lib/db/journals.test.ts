import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

// system_metadata.schema_version is the number of applied migrations, and backups record it: it must
// mean the same schema on both backends. So every schema change generates one migration per dialect,
// with the same name (`drizzle-kit generate --name x` and `drizzle-kit generate --config drizzle.pg.config.ts --name x`).
function tags(folder: string): string[] {
  const journal = JSON.parse(fs.readFileSync(path.join(folder, "meta", "_journal.json"), "utf8")) as { entries: { idx: number; tag: string }[] };
  return journal.entries.map((entry) => entry.tag);
}

it("the SQLite and PostgreSQL journals list the same migrations in the same order", () => {
  const sqlite = tags("drizzle");
  const pg = tags(path.join("drizzle", "pg"));
  expect(pg.length).toBe(sqlite.length);
  expect(pg).toEqual(sqlite);
  for (const tag of pg) expect(fs.existsSync(path.join("drizzle", "pg", `${tag}.sql`))).toBe(true);
});
