import * as sqlite from "./sqlite/storage";
import * as pg from "./pg/storage";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const storageSamples = selectTable(sqlite.storageSamples, pg.storageSamples);
export const storageAlerts = selectTable(sqlite.storageAlerts, pg.storageAlerts);
export type { StorageSampleRow, NewStorageSampleRow, StorageAlertRow } from "./sqlite/storage";
