import "server-only";
import fs from "node:fs";
import path from "node:path";
import type { AppConfig } from "@/lib/config/load";

const LOCK_FILE = ".mimir-server.lock";

function lockFile(config: AppConfig): string {
  return path.join(config.paths.home, LOCK_FILE);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid of a running server on this data root, or null (a lock left by a dead process is stale). */
export function runningServerPid(config: AppConfig): number | null {
  let text: string;
  try {
    text = fs.readFileSync(lockFile(config), "utf8");
  } catch {
    return null;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
}

/**
 * Marks this data root as served by this process, so the offline CLI refuses to restore under it.
 * Throws when another live server holds it. Removed again when the process exits.
 */
export function takeServerLock(config: AppConfig): void {
  const other = runningServerPid(config);
  if (other !== null) throw new Error(`Another server (pid ${other}) is running on ${config.paths.home}; stop it first (lock file ${lockFile(config)})`);
  fs.mkdirSync(config.paths.home, { recursive: true, mode: 0o700 });
  fs.writeFileSync(lockFile(config), `${process.pid}\n`, { mode: 0o600 });
  process.once("exit", () => {
    try {
      if (fs.readFileSync(lockFile(config), "utf8").trim() === String(process.pid)) fs.rmSync(lockFile(config));
    } catch {
      // already gone
    }
  });
}
