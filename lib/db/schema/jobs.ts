import * as sqlite from "./sqlite/jobs";
import * as pg from "./pg/jobs";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const scheduledJobs = selectTable(sqlite.scheduledJobs, pg.scheduledJobs);
export type { ScheduledJobRow, NewScheduledJobRow } from "./sqlite/jobs";
