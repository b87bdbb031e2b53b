import * as sqlite from "./sqlite/system";
import * as pg from "./pg/system";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const systemMetadata = selectTable(sqlite.systemMetadata, pg.systemMetadata);
export type { SystemMetadataRow } from "./sqlite/system";
