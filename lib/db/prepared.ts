import "server-only";
import { getDb, type Db } from "@/lib/db/client";

/**
 * A query that every request runs (the caller's credentials, the history's first page), built by
 * drizzle and compiled by the database once per open connection instead of on each call: on a
 * 1,000,000-run history the building and SQLite's compiling cost more than the rows (bench/http.ts).
 * `build` gets the open database and returns `.prepare()` of a query whose values are
 * `sql.placeholder`s. On PostgreSQL the statement is sent unnamed, so a pool of connections needs no
 * per-connection bookkeeping; what is kept is drizzle's built SQL. A database opened anew (a restore,
 * a switch of backend) gets its own statement: the memo is keyed by the connection.
 */
export function preparedQuery<T>(build: (db: Db) => T): () => T {
  const byConnection = new WeakMap<Db, T>();
  return () => {
    const db = getDb();
    let prepared = byConnection.get(db);
    if (prepared === undefined) {
      prepared = build(db);
      byConnection.set(db, prepared);
    }
    return prepared;
  };
}
