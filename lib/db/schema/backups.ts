import * as sqlite from "./sqlite/backups";
import * as pg from "./pg/backups";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const backups = selectTable(sqlite.backups, pg.backups);
export type { BackupRow, NewBackupRow } from "./sqlite/backups";
