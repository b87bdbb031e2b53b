import * as sqlite from "./sqlite/executions";
import * as pg from "./pg/executions";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const jobExecutions = selectTable(sqlite.jobExecutions, pg.jobExecutions);
export type { JobExecutionRow, NewJobExecutionRow } from "./sqlite/executions";
