import * as sqlite from "./sqlite/auth";
import * as pg from "./pg/auth";
import { selectTable } from "./select";

// The tables of the backend this process runs on, typed as the SQLite flavour (see ./select.ts).
export const users = selectTable(sqlite.users, pg.users);
export const sessions = selectTable(sqlite.sessions, pg.sessions);
export const apiTokens = selectTable(sqlite.apiTokens, pg.apiTokens);
export const signInFailures = selectTable(sqlite.signInFailures, pg.signInFailures);
export type { UserRow, SessionRow, ApiTokenRow, SignInFailureRow } from "./sqlite/auth";
