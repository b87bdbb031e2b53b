import "server-only";
import fs from "node:fs";
import path from "node:path";
import type { AppConfig } from "@/lib/config/load";
import type { VolumeName } from "@/lib/config/volumes";
import { FOLDER_MODE } from "@/lib/files";
import { isProcessAlive } from "@/lib/pids";

export class DataRootError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DataRootError";
  }
}

/** The folders a deployment must have, by the volume names used in backups. */
export function volumeFolders(config: AppConfig): Readonly<Record<VolumeName, string>> {
  const { paths } = config;
  return {
    mimir_data: paths.data,
    mimir_logs: paths.logs,
    mimir_config: paths.config,
    mimir_plugins: paths.plugins,
    mimir_pipelines: paths.pipelines,
  };
}

/** Names of the files that prove a folder can be written, each followed by the pid that wrote it. */
export const PROBE_PREFIX = ".mimir-write-probe-";

/**
 * A process killed between writing its probe and removing it (kill -9, the OOM killer, a power cut)
 * left the probe in a volume, where every later backup would carry it: removed once its process is
 * gone. A live process's probe is its own to remove.
 */
function removeDeadProbes(folder: string): void {
  for (const name of fs.readdirSync(folder)) {
    if (!name.startsWith(PROBE_PREFIX)) continue;
    const pid = Number(name.slice(PROBE_PREFIX.length));
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isProcessAlive(pid))
      fs.rmSync(path.join(/*turbopackIgnore: true*/ folder, name), { force: true });
  }
}

/**
 * Creates the five volume folders, backups/ and the database's folder (mode 0700) and proves each
 * can be written by writing and removing a probe file: a permission check alone says yes to root on
 * a read-only mount. Throws DataRootError naming the folder and the fix.
 */
export function ensureDataRoot(config: AppConfig): void {
  const folders = new Set([...Object.values(volumeFolders(config)), config.paths.backups, path.dirname(config.paths.database)]);
  for (const folder of folders) {
    try {
      if (!fs.existsSync(folder)) fs.mkdirSync(folder, { recursive: true, mode: FOLDER_MODE });
      const stat = fs.statSync(folder);
      if (!stat.isDirectory()) throw new DataRootError(`${folder} exists but is not a folder`);
      removeDeadProbes(folder);
      const probe = path.join(/*turbopackIgnore: true*/ folder, `${PROBE_PREFIX}${process.pid}`);
      fs.writeFileSync(probe, "");
      fs.rmSync(probe);
    } catch (error) {
      if (error instanceof DataRootError) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? "error";
      throw new DataRootError(
        `${folder} cannot be written (${code}). Give the service user write access to it ` +
          `(e.g. chown -R <user> ${folder} && chmod 700 ${folder}) or point the matching MIMIR_*_DIR elsewhere.`,
        { cause: error },
      );
    }
  }
}
