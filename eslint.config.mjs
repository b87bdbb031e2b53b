import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  globalIgnores([
    ".next/**",
    "node_modules/**",
    "mimir-home/**",
    ".e2e-home*/**",
    "test-results/**",
    "playwright-report/**",
    "bench/.data/**",
    "bench/peers/*/.next/**",
    "next-env.d.ts",
  ]),
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // The addon's loader is a CommonJS package of its own (node_modules/@mimir/malloc-trim): require() loads the .node file.
    files: ["native/**/*.js"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // lib/ is the product, app/ its adapters: dialect-specific drivers stay inside lib/db.
    files: ["**/*.ts", "**/*.tsx"],
    ignores: ["lib/db/**", "scripts/**", "bench/**", "**/*.test.ts", "test/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [{ name: "better-sqlite3", message: "Only lib/db talks to the SQLite driver." }],
          patterns: [{ group: ["drizzle-orm/better-sqlite3*", "drizzle-orm/sqlite-core*"], message: "Only lib/db knows the SQL dialect." }],
        },
      ],
    },
  },
  {
    // One set of query modules runs on both backends (lib/db/schema/select.ts): the calls that exist
    // only on drizzle's better-sqlite3 side type-check (the tables are typed as SQLite) but fail on
    // PostgreSQL, so they stay inside lib/db (the SQLite engine, lib/db/dialect.ts).
    files: ["lib/**/*.ts", "app/**/*.ts", "app/**/*.tsx", "instrumentation*.ts"],
    ignores: ["lib/db/**", "**/*.test.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[arguments.length=0][callee.type='MemberExpression'][callee.property.name=/^(run|all|get)$/]",
          message: "Synchronous drizzle calls (.run/.all/.get) exist on SQLite only: await the query (or use lib/db/dialect runBeforeExit).",
        },
        {
          selector: "CallExpression[callee.type='MemberExpression'][callee.property.name='transaction']",
          message: "drizzle's SQLite transactions are synchronous, PostgreSQL's asynchronous: use atomically() from lib/db/dialect.",
        },
        { selector: "MemberExpression[property.name='$client']", message: "The driver handle differs per backend: go through lib/db (the engine)." },
        { selector: "MemberExpression[property.name='changes']", message: "result.changes is SQLite's: use .returning() and its length." },
      ],
    },
  },
]);
