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
    "next-env.d.ts",
  ]),
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
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
]);
