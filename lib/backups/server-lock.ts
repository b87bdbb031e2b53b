import "server-only";
import fs from "node:fs";
import path from "node:path";
import type { AppConfig } from "@/lib/config/load";
import { acquireProcessLock, isProcessLockHeldElsewhere } from "@/lib/db/process-lock";
import { DATA_ROOT_MARKER } from "@/lib/instances/data-root";

/**
 * Held by the serving process, or by a CLI restore, for its whole life (see lib/db/process-lock for
 * why not a pid file). It lives in the data volume, beside mimir.db, because that is what every
 * container serving or restoring this data mounts (MIMIR_HOME itself is inside the image).
 */
const LOCK_FILE = ".mimir-server.lock";
/** Who holds the lock, for the message only: the lock, not this file, says whether it is held. */
const HOLDER_FILE = ".mimir-server.pid";

/** The lock's files and the data root's marker: never archived, moved by a restore's swap, or deleted by a reset. */
export function isDataRootLockName(name: string): boolean {
  return name === HOLDER_FILE || name === LOCK_FILE || name.startsWith(`${LOCK_FILE}-`) || name === DATA_ROOT_MARKER;
}

export function dataRootLockPaths(config: AppConfig): string[] {
  const lock = path.join(config.paths.data, LOCK_FILE);
  return [lock, `${lock}-journal`, path.join(config.paths.data, HOLDER_FILE)];
}

export interface RunningServer {
  /** as the holder wrote it; from another container it is that container's pid */
  pid: number | null;
  /** "server", or "restore" / "migrate" for the offline CLI's */
  role: string;
}

/** The process serving (or restoring) this data root from elsewhere (this host, any container), or null. */
export function runningServer(config: AppConfig): RunningServer | null {
  if (!isProcessLockHeldElsewhere(path.join(config.paths.data, LOCK_FILE))) return null;
  let pid: number | null = null;
  let role = "server";
  try {
    const [pidText, roleText] = fs.readFileSync(path.join(config.paths.data, HOLDER_FILE), "utf8").trim().split(/\s+/);
    pid = Number.parseInt(pidText ?? "", 10) || null;
    if (roleText) role = roleText;
  } catch {
    // the holder is only for the message
  }
  return { pid, role };
}

/** How a message names the holder. */
export function describeServer(server: RunningServer): string {
  const who = server.role === "restore" ? "An offline restore" : server.role === "migrate" ? "An offline migration" : "A server";
  return server.pid === null ? who : `${who} (pid ${server.pid})`;
}

/**
 * Takes the data root's lock for this process's life; false when another live process holds it.
 * Servers on PostgreSQL share it (several instances serve one data root); every other holder is alone.
 */
export function lockDataRoot(config: AppConfig, role: "server" | "restore" | "migrate"): boolean {
  fs.mkdirSync(config.paths.data, { recursive: true, mode: 0o700 });
  const shared = role === "server" && config.values.persistence.backend === "postgres";
  if (!acquireProcessLock(path.join(config.paths.data, LOCK_FILE), { shared })) return false;
  fs.writeFileSync(path.join(config.paths.data, HOLDER_FILE), `${process.pid} ${role}\n`, { mode: 0o600 });
  return true;
}

/** Marks this data root as served by this process, so the offline CLI refuses to restore under it. Throws when another holds it. */
export function takeServerLock(config: AppConfig): void {
  if (!lockDataRoot(config, "server")) {
    const other = runningServer(config);
    throw new Error(
      `${describeServer(other ?? { pid: null, role: "server" })} is already running on ${config.paths.home}; stop it first (it holds ${path.join(config.paths.data, LOCK_FILE)})`,
    );
  }
}
