import * as sqlite from "./sqlite/offsite";
import * as pg from "./pg/offsite";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const offsiteDestinations = selectTable(sqlite.offsiteDestinations, pg.offsiteDestinations);
export const offsiteCopies = selectTable(sqlite.offsiteCopies, pg.offsiteCopies);
export type { OffsiteDestinationRow, OffsiteCopyRow } from "./sqlite/offsite";
