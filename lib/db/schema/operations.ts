import * as sqlite from "./sqlite/operations";
import * as pg from "./pg/operations";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const operations = selectTable(sqlite.operations, pg.operations);
export type { OperationRow, NewOperationRow } from "./sqlite/operations";
