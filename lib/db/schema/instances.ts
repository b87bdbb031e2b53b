import * as sqlite from "./sqlite/instances";
import * as pg from "./pg/instances";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const instances = selectTable(sqlite.instances, pg.instances);
export const jobFires = selectTable(sqlite.jobFires, pg.jobFires);
export type { InstanceRow, JobFireRow } from "./sqlite/instances";
