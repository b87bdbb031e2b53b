import "server-only";
import { z } from "zod";
import { notFound } from "@/lib/errors";
import { decodeCursor, toPage, type Page, type PageQuery } from "@/lib/pagination";
import type { BackupRow } from "@/lib/db/schema/backups";
import * as queries from "@/lib/backups/queries";
import { isPinnedOnDisk, listSetsOnDisk, readVerification, setFolder } from "@/lib/backups/store";
import type { BackupDto, BackupManifest } from "@/lib/backups/types";
import { VOLUMES } from "@/lib/config/volumes";

// The catalog: the backups table mirrors the backup folder (the folder is the truth). Reads, and the sync.

function toDto(row: BackupRow): BackupDto {
  const manifest = JSON.parse(row.manifest) as BackupManifest;
  return {
    id: row.id,
    created_at: row.createdAt,
    trigger: row.trigger,
    bytes: row.bytes,
    encrypted: row.encrypted,
    pinned: row.pinned,
    volumes: VOLUMES.map((name) => ({ name, bytes: manifest.archives[name].bytes, files: manifest.archives[name].files })),
    row_counts: manifest.row_counts,
    verified_at: row.verifiedAt,
    verify_status: row.verifyStatus ?? null,
    verify_error: row.verifyError,
  };
}

const backupCursor = z.object({ created_at: z.string(), id: z.string() });

/** Sets newest first, paged. Reads only. */
export async function listBackups(query: PageQuery): Promise<Page<BackupDto>> {
  const after = decodeCursor(query.cursor, backupCursor);
  const rows = await queries.listBackupRows(query.limit, after);
  const page = toPage(rows, query.limit, (row) => ({ created_at: row.createdAt, id: row.id }));
  return { items: page.items.map(toDto), next_cursor: page.next_cursor };
}

/** The newest set in the catalog, or null before the first. Reads only. */
export async function findLatestBackup(): Promise<BackupDto | null> {
  const [row] = await queries.listBackupRows(1, null);
  return row ? toDto(row) : null;
}

/** The newest set (null before the first) and how many sets the catalog holds, in one read. Reads only. */
export async function summarizeBackups(): Promise<{ latest: BackupDto | null; count: number }> {
  const { row, count } = await queries.findNewestBackupRowAndCount();
  return { latest: row ? toDto(row) : null, count };
}

/** One set, or 404. Reads only. */
export async function getBackup(id: string): Promise<BackupDto> {
  setFolder(id);
  const row = await queries.findBackupRow(id);
  if (!row) throw notFound("Backup", id);
  return toDto(row);
}

/**
 * Makes the catalog mirror the backup folder (the folder is the truth): a row per complete set with
 * its manifest, verification and pin; rows of sets that are gone are removed. Runs at boot, after a
 * restore (the restored database's catalog is from the past) and after imports. Writes rows.
 */
export async function syncBackupCatalog(): Promise<void> {
  const sets = listSetsOnDisk();
  const onDisk = new Set(sets.map((set) => set.id));
  for (const set of sets) {
    const verification = readVerification(set.folder);
    await queries.upsertBackupRow({
      id: set.id,
      createdAt: set.manifest.created_at,
      trigger: set.manifest.trigger,
      bytes: totalBytes(set.manifest),
      encrypted: set.manifest.encrypted,
      pinned: isPinnedOnDisk(set.folder),
      manifest: JSON.stringify(set.manifest),
      verifiedAt: verification?.verified_at ?? null,
      verifyStatus: verification?.status ?? null,
      verifyError: verification?.error ?? null,
    });
  }
  for (const row of await queries.listAllBackupRows()) if (!onDisk.has(row.id)) await queries.deleteBackupRow(row.id);
}

export function totalBytes(manifest: BackupManifest): number {
  return VOLUMES.reduce((sum, name) => sum + manifest.archives[name].bytes, 0);
}
