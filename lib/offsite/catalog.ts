import "server-only";
import { getBackup, listBackups } from "@/lib/backups/catalog";
import type { BackupDto } from "@/lib/backups/types";
import type { Page, PageQuery } from "@/lib/pagination";
import { toCopyDto } from "@/lib/offsite/copy";
import * as queries from "@/lib/offsite/queries";
import type { BackupWithCopiesDto } from "@/lib/offsite/types";

/** The sets with their copy state at each destination: what the Backups list and GET /api/v1/backups show. Reads only. */
export async function listBackupsWithCopies(query: PageQuery): Promise<Page<BackupWithCopiesDto>> {
  const page = await listBackups(query);
  return { items: await attachCopies(page.items), next_cursor: page.next_cursor };
}

/** One set with its copies, or 404. Reads only. */
export async function getBackupWithCopies(id: string): Promise<BackupWithCopiesDto> {
  const [backup] = await attachCopies([await getBackup(id)]);
  return backup!;
}

async function attachCopies(backups: BackupDto[]): Promise<BackupWithCopiesDto[]> {
  const names = new Map((await queries.listDestinationRows()).map((row) => [row.id, row.name]));
  const copies = await queries.listCopyRowsFor(backups.map((backup) => backup.id));
  return backups.map((backup) => ({
    ...backup,
    copies: copies
      .filter((copy) => copy.backupId === backup.id && names.has(copy.destinationId))
      .map((copy) => toCopyDto(copy, names.get(copy.destinationId)!))
      .sort((a, b) => a.destination_name.localeCompare(b.destination_name)),
  }));
}
