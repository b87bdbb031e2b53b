import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { getStorageUsage } from "@/lib/storage/usage";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { testBackend } from "@/test/helpers/postgres";

let root: TestDataRoot;
beforeAll(() => {
  root = createTestDataRoot();
  const { paths } = root.config;
  fs.mkdirSync(path.join(paths.logs, "executions"), { recursive: true });
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(paths.logs, "executions", `run-${i}.log`), "line\n".repeat(i * 7));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(paths.pipelines, `p${i}.yaml`), `name: p${i}\nsteps: []\n`);
  fs.writeFileSync(path.join(paths.plugins, "tool"), Buffer.alloc(1_500_000));
  fs.linkSync(path.join(paths.plugins, "tool"), path.join(paths.plugins, "tool-alias"));
  fs.mkdirSync(path.join(paths.backups, "20250101-020000"));
  fs.writeFileSync(path.join(paths.backups, "20250101-020000", "mimir_data.tar.gz"), Buffer.alloc(400_000));
});
afterAll(() => root.cleanup());

test("each volume's size equals du -sb of it within 1%, and the database is described", async () => {
  const usage = await getStorageUsage({ fresh: true });
  expect(usage.volumes.map((v) => v.volume)).toEqual(["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines", "backups"]);
  for (const volume of usage.volumes) {
    const du = Number(execFileSync("du", ["-sb", volume.path], { encoding: "utf8" }).split("\t")[0]);
    expect(Math.abs(volume.bytes - du), `${volume.volume}: ours ${volume.bytes}, du ${du}`).toBeLessThanOrEqual(du * 0.01);
    expect(volume.filesystem?.total_bytes).toBeGreaterThan(0);
  }
  const plugins = usage.volumes.find((v) => v.volume === "mimir_plugins")!;
  expect(plugins.files).toBe(1);
  expect(plugins.largest[0]?.bytes).toBe(1_500_000);

  const { database } = usage;
  if (testBackend() === "sqlite") {
    expect(database.file_bytes).toBe(fs.statSync(root.config.paths.database).size);
    expect(database.wal_bytes).toBe(fs.statSync(`${root.config.paths.database}-wal`).size);
    // Pages still in the WAL count too, so the database is at least as big as its main file.
    expect(database.page_count * database.page_size).toBeGreaterThanOrEqual(database.file_bytes);
  } else {
    expect(database.file_bytes).toBeGreaterThan(0);
  }
  const tables = new Map(database.tables.map((t) => [t.name, t]));
  expect(tables.get("storage_samples")).toMatchObject({ rows: 0 });
  expect(tables.get("job_executions")?.bytes).toBeGreaterThan(0);
});

test("a recent measurement is reused, a fresh one asked for is not", async () => {
  const first = await getStorageUsage({ fresh: true, tables: false });
  expect(await getStorageUsage({ tables: false })).toBe(first);
  expect(await getStorageUsage({ fresh: true, tables: false })).not.toBe(first);
});
