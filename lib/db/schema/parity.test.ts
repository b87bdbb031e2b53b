import { describe, expect, it, afterEach } from "vitest";
import { is, getTableName } from "drizzle-orm";
import { getTableConfig as sqliteConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { getTableConfig as pgConfig, PgTable } from "drizzle-orm/pg-core";
import * as sqlite from "./sqlite";
import * as pgSchema from "./pg";
import * as selected from "./index";
import { bindSchemaBackend } from "./select";

// The type half of the parity check is selectTable's signature: a selector module does not compile
// when the two flavours of a table infer different row or insert types. This is the run-time half:
// what the types cannot see (names, nullability, defaults, keys, indexes, foreign keys).

const names = Object.keys(sqlite).sort();

function sqliteShape(table: SQLiteTable) {
  const config = sqliteConfig(table);
  return {
    name: config.name,
    columns: config.columns.map((c) => ({ name: c.name, notNull: c.notNull, hasDefault: c.hasDefault, primary: c.primary })),
    primaryKeys: config.primaryKeys.map((pk) => pk.columns.map((c) => c.name)),
    indexes: config.indexes
      .map((i) => ({ name: i.config.name, unique: i.config.unique, on: i.config.columns.map((c) => ("name" in c ? c.name : String(c))) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    foreignKeys: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return {
        from: ref.columns.map((c) => c.name),
        to: getTableName(ref.foreignTable),
        toColumns: ref.foreignColumns.map((c) => c.name),
        onDelete: fk.onDelete,
      };
    }),
  };
}

function pgShape(table: PgTable) {
  const config = pgConfig(table);
  return {
    name: config.name,
    columns: config.columns.map((c) => ({
      name: c.name,
      notNull: c.notNull,
      // an identity column is SQLite's INTEGER PRIMARY KEY AUTOINCREMENT: both fill it when the insert leaves it out
      hasDefault: c.hasDefault || c.generatedIdentity !== undefined,
      primary: c.primary,
    })),
    primaryKeys: config.primaryKeys.map((pk) => pk.columns.map((c) => c.name)),
    indexes: config.indexes
      .map((i) => ({ name: i.config.name!, unique: i.config.unique, on: i.config.columns.map((c) => ("name" in c ? (c.name as string) : String(c))) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    foreignKeys: config.foreignKeys.map((fk) => {
      const ref = fk.reference();
      return {
        from: ref.columns.map((c) => c.name),
        to: getTableName(ref.foreignTable),
        toColumns: ref.foreignColumns.map((c) => c.name),
        onDelete: fk.onDelete,
      };
    }),
  };
}

afterEach(() => bindSchemaBackend("sqlite"));

describe("the PostgreSQL schema mirrors the SQLite one", () => {
  it("exports the same tables", () => {
    expect(Object.keys(pgSchema).sort()).toEqual(names);
    expect(Object.keys(selected).sort()).toEqual(names);
    expect(names.length).toBeGreaterThanOrEqual(16);
  });

  it.each(names)("%s: same columns, nullability, defaults, keys, indexes and foreign keys", (name) => {
    const s = (sqlite as Record<string, SQLiteTable>)[name]!;
    const p = (pgSchema as Record<string, PgTable>)[name]!;
    expect(pgShape(p)).toEqual(sqliteShape(s));
  });

  it("keeps timestamps, booleans, byte counts and nanoseconds in real PostgreSQL types", () => {
    const types = Object.fromEntries(pgConfig(pgSchema.jobExecutions).columns.map((c) => [c.name, c.getSQLType()]));
    expect(types).toMatchObject({ start_time: "timestamp(3) with time zone", duration: "bigint", status: "text" });
    expect(Object.fromEntries(pgConfig(pgSchema.scheduledJobs).columns.map((c) => [c.name, c.getSQLType()]))).toMatchObject({ enabled: "boolean" });
    expect(Object.fromEntries(pgConfig(pgSchema.storageSamples).columns.map((c) => [c.name, c.getSQLType()]))).toMatchObject({ id: "bigint", bytes: "bigint" });
  });
});

describe("the table stand-ins", () => {
  it("forward to the bound backend's flavour", () => {
    expect(is(selected.scheduledJobs, SQLiteTable)).toBe(true);
    expect(selected.scheduledJobs.enabled).toBe(sqlite.scheduledJobs.enabled);
    bindSchemaBackend("postgres");
    expect(is(selected.scheduledJobs, PgTable)).toBe(true);
    expect(selected.scheduledJobs.enabled).toBe(pgSchema.scheduledJobs.enabled);
    expect(getTableName(selected.jobExecutions)).toBe("job_executions");
    expect(Object.keys(selected.jobExecutions)).toEqual(Object.keys(pgSchema.jobExecutions));
  });
});
