import * as sqlite from "./sqlite/pipelines";
import * as pg from "./pg/pipelines";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const pipelines = selectTable(sqlite.pipelines, pg.pipelines);
export type { PipelineRow, NewPipelineRow } from "./sqlite/pipelines";
