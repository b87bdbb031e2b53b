import "server-only";
import type { PgTable } from "drizzle-orm/pg-core";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { processState } from "@/lib/process-state";

/**
 * One set of query modules serves both backends (Homarr's pattern): every table exists twice, in
 * ./sqlite (sqlite-core) and ./pg (pg-core), with the same names, row types, constraints and indexes,
 * and the modules beside this file export, under the usual names, a stand-in that forwards to the
 * flavour of the backend this process runs on. The stand-ins are typed as the SQLite flavour, so the
 * query modules keep one type; the price is that SQLite-only calls (`.run()`, `.all()`, sync
 * transactions) still type-check and are banned by lint outside the SQLite engine instead.
 *
 * Why a forwarding stand-in rather than choosing at import time: the backend comes from config.yaml
 * or the environment, read by boot after these modules are loaded, and Next.js loads them once per
 * bundle; the choice lives in process state, set once by boot (or a test harness) before the first
 * query. The forwarding is per property read, so a table taken at import time still follows it; a
 * column taken at import time (`const c = jobs.name` at module level) would not, so don't.
 */

export type SchemaBackend = "sqlite" | "postgres";

const state = processState("schemaBackend", (): { backend: SchemaBackend } => ({ backend: "sqlite" }));

/** Points every table stand-in at the flavour of `backend`; boot calls it before opening the database. */
export function bindSchemaBackend(backend: SchemaBackend): void {
  state.backend = backend;
}

/** The backend the table stand-ins forward to ("sqlite" until boot says otherwise). */
export function schemaBackend(): SchemaBackend {
  return state.backend;
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when both flavours give the app the same row and insert types. */
type SameRows<S extends SQLiteTable, P extends PgTable> =
  Equal<S["$inferSelect"], P["$inferSelect"]> extends true
    ? Equal<S["$inferInsert"], P["$inferInsert"]> extends true
      ? unknown
      : { insertTypesDiffer: [S["$inferInsert"], P["$inferInsert"]] }
    : { rowTypesDiffer: [S["$inferSelect"], P["$inferSelect"]] };

/** The stand-in for one table: forwards every read to the flavour of the bound backend. */
export function selectTable<S extends SQLiteTable, P extends PgTable>(sqlite: S, pg: P & SameRows<S, P>): S {
  const pick = (): object => (state.backend === "postgres" ? pg : sqlite);
  // The target is an empty object so that no proxy invariant ties the answers to one flavour.
  return new Proxy({} as S, {
    get: (_target, key) => Reflect.get(pick(), key),
    has: (_target, key) => Reflect.has(pick(), key),
    ownKeys: () => Reflect.ownKeys(pick()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(pick(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
    getPrototypeOf: () => Reflect.getPrototypeOf(pick()),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}
