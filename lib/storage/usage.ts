import "server-only";
import { processState } from "@/lib/process-state";
import fs from "node:fs/promises";
import { getConfig } from "@/lib/config/service";
import { volumeFolders } from "@/lib/config/data-root";
import { nowIso } from "@/lib/db/timestamps";
import { getEngine } from "@/lib/db/engine";
import type { DatabaseEngine } from "@/lib/db/engine/types";
import { scanFolder } from "@/lib/storage/walk";
import type { FilesystemSpace, StorageUsage, StorageVolume, VolumeUsage } from "@/lib/storage/types";

/** A fresh measurement younger than this is reused: page loads and API calls do not each walk every volume. */
export const USAGE_REUSE_MS = 30_000;
/**
 * Per-table bytes come from dbstat, which reads every page and holds the event loop while it does
 * (about a second per GB); table sizes move slowly, so they are reused for longer.
 */
export const TABLE_STATS_REUSE_MS = 10 * 60_000;

const memo = processState(
  "storageUsage",
  (): {
    storageUsage?: { at: number; usage: StorageUsage };
    storageScan?: Promise<StorageUsage>;
    tableStats?: { at: number; tables: Awaited<ReturnType<DatabaseEngine["tableStats"]>> };
  } => ({}),
);

/** The folder of each volume and of backups, by the names used in samples and alerts. */
export function watchedFolders(): Record<StorageVolume, string> {
  const config = getConfig();
  return { ...volumeFolders(config), backups: config.paths.backups };
}

/**
 * Current usage of every volume and of the database: the one source of every size the pages show
 * (Overview, Storage, Reset) and of each sample. Reuses a measurement younger than USAGE_REUSE_MS
 * unless `fresh`; concurrent callers share one walk. Per-table rows and bytes only with `tables`
 * (reused for TABLE_STATS_REUSE_MS); otherwise `database.tables` is empty. Reads only.
 */
export async function getStorageUsage(options: { fresh?: boolean; tables?: boolean } = {}): Promise<StorageUsage> {
  const cached = memo.storageUsage;
  let usage: StorageUsage;
  if (!options.fresh && cached && Date.now() - cached.at < USAGE_REUSE_MS) {
    usage = cached.usage;
  } else {
    memo.storageScan ??= measureStorage({ tables: false })
      .then((measured) => {
        memo.storageUsage = { at: Date.now(), usage: measured };
        return measured;
      })
      .finally(() => (memo.storageScan = undefined));
    usage = await memo.storageScan;
  }
  const wantTables = options.tables ?? true;
  return wantTables ? { ...usage, database: { ...usage.database, tables: await tableStats() } } : usage;
}

/**
 * Walks every volume and stats the database files. Per-table bytes (dbstat reads every page of the
 * database) only when `tables`: the sampler leaves them out so a sample stays cheap on a large database.
 */
export async function measureStorage(options: { tables: boolean }): Promise<StorageUsage> {
  const config = getConfig();
  const started = performance.now();
  const measuredAt = nowIso();
  const volumes: VolumeUsage[] = [];
  // One volume at a time: each walk already spreads over both cores (lib/storage/walk.ts).
  for (const [volume, folder] of Object.entries(watchedFolders()) as [StorageVolume, string][]) {
    const scan = await scanFolder(folder);
    volumes.push({
      volume,
      path: folder,
      exists: scan.exists,
      bytes: scan.bytes,
      files: scan.files,
      folders: scan.folders,
      unreadable: scan.unreadable,
      largest: scan.largest,
      filesystem: await filesystemSpace(folder),
    });
  }
  const [file, tables, vectorBytes] = await Promise.all([
    getEngine().fileStats(),
    options.tables ? tableStats() : Promise.resolve([]),
    fileSize(config.paths.vectorDb),
  ]);
  return {
    measured_at: measuredAt,
    scan_ms: Math.round(performance.now() - started),
    volumes,
    database: {
      path: file.path,
      file_bytes: file.fileBytes,
      wal_bytes: file.walBytes,
      shm_bytes: file.shmBytes,
      page_size: file.pageSize,
      page_count: file.pageCount,
      free_pages: file.freePages,
      tables,
      vector_db: { path: config.paths.vectorDb, enabled: config.values.persistence.enable_vector_db, bytes: vectorBytes },
    },
  };
}

async function tableStats() {
  const cached = memo.tableStats;
  if (cached && Date.now() - cached.at < TABLE_STATS_REUSE_MS) return cached.tables;
  const tables = await getEngine().tableStats();
  memo.tableStats = { at: Date.now(), tables };
  return tables;
}

/** Free and total bytes of the filesystem holding `folder` (statfs); null when it cannot be asked. */
export async function filesystemSpace(folder: string): Promise<FilesystemSpace | null> {
  try {
    const stats = await fs.statfs(folder);
    return { free_bytes: stats.bavail * stats.bsize, total_bytes: stats.blocks * stats.bsize };
  } catch {
    return null;
  }
}

async function fileSize(file: string): Promise<number | null> {
  try {
    return (await fs.stat(file)).size;
  } catch {
    return null;
  }
}
