import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { AppConfig } from "@/lib/config/load";
import { PROBE_PREFIX } from "@/lib/config/data-root";
import { rawScript } from "@/test/helpers/postgres";

/**
 * Puts recognisable content in every volume: two jobs with executions (in the process-wide database,
 * SQLite or PostgreSQL), pipeline files, logs, a plugin, config.
 */
export async function fillDataRoot(config: AppConfig): Promise<void> {
  const now = new Date().toISOString();
  await rawScript(`
    INSERT INTO scheduled_jobs (id, name, pipeline, cron_expr, enabled, created_at, updated_at) VALUES
      ('job-nightly', 'Nightly sync', 'nightly-sync', '0 2 * * *', TRUE, '${now}', '${now}'),
      ('job-weekly', 'Weekly report', 'weekly-report', '0 6 * * 1', FALSE, '${now}', '${now}');
    INSERT INTO job_executions (id, job_id, pipeline, start_time, status, triggered_by) VALUES
      ('exec-1', 'job-nightly', 'nightly-sync', '${now}', 'success', 'scheduler'),
      ('exec-2', 'job-nightly', 'nightly-sync', '${now}', 'failed', 'manual');
  `);
  const { paths } = config;
  fs.writeFileSync(path.join(paths.pipelines, "nightly-sync.yaml"), "name: nightly-sync\nsteps:\n  - name: fetch\n    plugin: Input.http\n");
  fs.mkdirSync(path.join(paths.pipelines, "team"), { recursive: true });
  fs.writeFileSync(path.join(paths.pipelines, "team", "weekly-report.yml"), "name: weekly-report\nsteps: []\n");
  fs.mkdirSync(path.join(paths.logs, "executions"), { recursive: true });
  fs.writeFileSync(path.join(paths.logs, "executions", "exec-1.log"), "step fetch ok\n".repeat(2000));
  fs.writeFileSync(path.join(paths.plugins, "Input.http"), crypto.randomBytes(200_000), { mode: 0o755 });
  fs.writeFileSync(path.join(paths.config, "notes.txt"), "kept beside config.yaml\n");
  fs.writeFileSync(path.join(paths.data, "blob.bin"), crypto.randomBytes(50_000));
}

/** sha256 of every regular file under a folder, by relative path; SQLite files and journals left out (they change with every write). */
export function treeHashes(folder: string, options: { includeDatabases?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const entry of fs.readdirSync(path.join(folder, relative), { withFileTypes: true })) {
      const name = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(name);
      else if (entry.isFile()) {
        if (!options.includeDatabases && /\.db(-wal|-shm|-journal)?$/.test(entry.name)) continue;
        if (entry.name === "mimir.log") continue;
        // The data root's lock (held by a server or a CLI restore) is not data.
        if (entry.name.startsWith(".mimir-server.")) continue;
        // Nor is a write probe (lib/config/data-root.ts): a process killed while probing leaves one until the next start removes it.
        if (entry.name.startsWith(PROBE_PREFIX)) continue;
        out[name] = crypto
          .createHash("sha256")
          .update(fs.readFileSync(path.join(folder, name)))
          .digest("hex");
      }
    }
  };
  if (fs.existsSync(folder)) walk("");
  return out;
}

export function volumesHashes(config: AppConfig): Record<string, Record<string, string>> {
  const { paths } = config;
  return Object.fromEntries(["data", "logs", "config", "plugins", "pipelines"].map((v) => [v, treeHashes(paths[v as "data"])]));
}

export function sqlite(file: string, sql: string): string {
  return execFileSync("sqlite3", [file, sql], { encoding: "utf8" }).trim();
}

/** Builds a tar.gz with Python's tarfile (a stock tool, not our writer), from a script that fills `tf`. */
export function craftTarGz(file: string, script: string): void {
  execFileSync("python3", ["-c", `import tarfile, io, os\ntf = tarfile.open(${JSON.stringify(file)}, "w:gz")\n${script}\ntf.close()`]);
}
