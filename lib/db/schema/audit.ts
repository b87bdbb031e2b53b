import * as sqlite from "./sqlite/audit";
import * as pg from "./pg/audit";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const auditLog = selectTable(sqlite.auditLog, pg.auditLog);
export type { AuditLogRow } from "./sqlite/audit";
