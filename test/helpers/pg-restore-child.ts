// A process that restores a PostgreSQL dump, for the kill -9 test: prints "loading" at the first rows
// it loads and "restored" when the transaction committed. Run with --conditions=react-server --import tsx.
import pg from "pg";
import { restorePostgresDump } from "@/lib/db/engine/postgres/restore";

const [url, file] = process.argv.slice(2);
if (!url || !file) throw new Error("usage: pg-restore-child.ts <database url> <dump file>");
const pool = new pg.Pool({ connectionString: url, max: 1, application_name: "mimir-restore-child" });
let announced = false;
await restorePostgresDump(pool, file, {
  carry: { tables: ["users", "sessions", "api_tokens", "audit_log", "notification_channels"], appendTable: "audit_log" },
  progress: () => {
    if (!announced) process.stdout.write("loading\n");
    announced = true;
  },
});
process.stdout.write("restored\n");
await pool.end();
