// docs/recovery.md promises that stock tools restore a set without the app: this runs its commands
// (steps 1–3) verbatim with bash against a real encrypted set, and checks what they produce.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { fillDataRoot, sqlite } from "@/test/helpers/backup-fixtures";
import { waitForOperation } from "@/lib/operations/service";
import { startBackup } from "@/lib/backups/service";

const PASSPHRASE = "recovery drill passphrase";
let root: TestDataRoot;

beforeAll(async () => {
  root = createTestDataRoot({ MIMIR_BACKUP_PASSPHRASE: PASSPHRASE });
  await fillDataRoot(root.config);
});
afterAll(() => root.cleanup());

/** The fenced sh blocks under a "## <n>." heading, without the lines that stop or name the live service. */
function stepCommands(markdown: string, step: number): string {
  const section = markdown.split(/^## /m).find((part) => part.startsWith(`${step}.`));
  if (!section) throw new Error(`docs/recovery.md has no step ${step}`);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
  return blocks
    .join("\n")
    .split("\n")
    .filter((line) => !line.startsWith("docker compose") && !line.startsWith("MIMIR_HOME=") && !line.startsWith("SET=") && !line.startsWith("RESTORE="))
    .join("\n");
}

test("the documented gpg, tar and sqlite3 commands restore a set by hand", async () => {
  const op = await waitForOperation((await startBackup(null, "manual")).id);
  const id = (op.result as { backup_id: string }).backup_id;
  const markdown = fs.readFileSync("docs/recovery.md", "utf8");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mimir-recovery-"));
  const set = path.join(root.config.paths.backups, id);
  try {
    const script = ["set -euo pipefail", stepCommands(markdown, 1), stepCommands(markdown, 2), stepCommands(markdown, 3)].join("\n");
    const output = execFileSync("bash", ["-c", script], {
      cwd: work,
      encoding: "utf8",
      env: { ...process.env, SET: set, MIMIR_BACKUP_PASSPHRASE: PASSPHRASE, GNUPGHOME: work, RESTORE: path.join(work, "restore") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(output).toMatch(/mimir_data\.tar\.gz\.gpg: OK/);
    expect(output).toMatch(/^ok$/m);
    const restored = path.join(work, "restore");
    expect(sqlite(path.join(restored, "mimir_data", "mimir.db"), "SELECT count(*) FROM scheduled_jobs")).toBe("2");
    expect(fs.readFileSync(path.join(restored, "mimir_pipelines", "nightly-sync.yaml"), "utf8")).toContain("name: nightly-sync");
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    // Nothing decrypted was left in the set folder.
    expect(fs.readdirSync(set).filter((file) => file.endsWith(".tar.gz"))).toEqual([]);
  }
});
