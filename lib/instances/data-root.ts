import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { AppConfig } from "@/lib/config/load";
import { FILE_MODE } from "@/lib/files";
import * as queries from "@/lib/instances/queries";

/**
 * Several instances must see the same volumes: a backup written by one is restored by another, a
 * pipeline file saved on one runs on all. A random id in a file in the data volume, recorded in the
 * database by the first instance, tells a second instance whether its data root is the one the others
 * see. The file is never archived nor swapped by a restore (lib/backups/server-lock.ts lists it).
 */
export const DATA_ROOT_MARKER = ".mimir-data-root-id";

/** The marker id of this data root, written (mode 0600) when missing. */
export function readDataRootMarker(config: AppConfig): string {
  const file = path.join(config.paths.data, DATA_ROOT_MARKER);
  try {
    const id = fs.readFileSync(file, "utf8").trim();
    if (id) return id;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const id = crypto.randomUUID();
  // wx: two instances starting on one new shared folder keep the id of whichever wrote first
  try {
    fs.writeFileSync(file, `${id}\n`, { mode: FILE_MODE, flag: "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return fs.readFileSync(file, "utf8").trim();
    throw error;
  }
  return id;
}

/**
 * Checks this instance's data root against the one the deployment recorded. With other live instances
 * a different root is refused (thrown, with the reason: boot stops); alone, this root becomes the
 * deployment's (the volumes were moved while everything was stopped). Returns the marker id. Writes
 * one system_metadata row the first time.
 */
export async function assertSharedDataRoot(config: AppConfig, otherLiveInstances: number): Promise<string> {
  const mine = readDataRootMarker(config);
  const recorded = await queries.selectRecordedDataRootId();
  if (recorded === mine) return mine;
  if (recorded !== null && otherLiveInstances > 0) {
    throw new Error(
      `This instance's data root (${config.paths.data}) is not the one the other ${otherLiveInstances === 1 ? "instance uses" : `${otherLiveInstances} instances use`} ` +
        `(its marker ${DATA_ROOT_MARKER} holds ${mine.slice(0, 8)}…, the database records ${recorded.slice(0, 8)}…). ` +
        `Instances sharing one PostgreSQL must mount the same volumes (data, logs, config, plugins, pipelines and backups) as shared storage; see the README, "Several instances".`,
    );
  }
  await queries.recordDataRootId(mine);
  return mine;
}
