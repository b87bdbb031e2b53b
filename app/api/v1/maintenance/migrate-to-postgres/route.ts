import { json, route } from "@/lib/http";
import { migrateToPostgresInput } from "@/lib/maintenance/inputs";
import { startMigrateToPostgres } from "@/lib/maintenance/migrate-backend";

/**
 * Body: {"connection_string": "postgres://…"} (a secret: never stored in the operation, logged or
 * returned). A browser session sends its password again in the X-Mimir-Password header; tokens pass.
 * 202 with the exclusive operation; restart the console once it succeeded.
 */
export const POST = route({ access: "admin", reauth: true, audit: "data.migrate_to_postgres", body: migrateToPostgresInput }, async ({ body, principal }) =>
  json(await startMigrateToPostgres(body, principal), 202),
);
