import "server-only";
import fs from "node:fs";
import path from "node:path";
import type { AppConfig } from "@/lib/config/load";
import { acquireProcessLock, isProcessLockHeldElsewhere } from "@/lib/db/process-lock";

/** Held by the serving process for its whole life (see lib/db/process-lock for why not a pid file). */
const LOCK_FILE = ".mimir-server.lock";
/** The server's pid, for the message only: the lock, not this file, says whether a server runs. */
const PID_FILE = ".mimir-server.pid";

export interface RunningServer {
  /** as the server wrote it; from another container it is that container's pid */
  pid: number | null;
}

/** The server serving this data root from another process (this host, any container), or null. */
export function runningServer(config: AppConfig): RunningServer | null {
  if (!isProcessLockHeldElsewhere(path.join(config.paths.home, LOCK_FILE))) return null;
  let pid: number | null = null;
  try {
    pid = Number.parseInt(fs.readFileSync(path.join(config.paths.home, PID_FILE), "utf8").trim(), 10) || null;
  } catch {
    // the pid is only for the message
  }
  return { pid };
}

/** How a message names a running server. */
export function describeServer(server: RunningServer): string {
  return server.pid === null ? "A server" : `A server (pid ${server.pid})`;
}

/**
 * Marks this data root as served by this process, so the offline CLI refuses to restore under it.
 * Throws when another live server holds it. The lock goes with the process, however it ends.
 */
export function takeServerLock(config: AppConfig): void {
  fs.mkdirSync(config.paths.home, { recursive: true, mode: 0o700 });
  if (!acquireProcessLock(path.join(config.paths.home, LOCK_FILE))) {
    const other = runningServer(config);
    throw new Error(`${describeServer(other ?? { pid: null })} is already running on ${config.paths.home}; stop it first (it holds ${path.join(config.paths.home, LOCK_FILE)})`);
  }
  fs.writeFileSync(path.join(config.paths.home, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
}
