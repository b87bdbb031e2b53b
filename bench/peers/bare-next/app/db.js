import Database from "better-sqlite3";
import pg from "pg";

const HISTORY_PAGE =
  "SELECT id, job_id, pipeline, start_time, end_time, duration, status, error, triggered_by FROM job_executions ORDER BY start_time DESC, id DESC LIMIT ";

/**
 * The bare peer's database, opened on the first request (not at build time), and the history page's
 * SQL: the columns and order of our GET /api/v1/jobs. BENCH_DB: one better-sqlite3 connection on that
 * file. BENCH_PG_URL: a node-postgres pool of our pool's default size (10) on that database.
 */
function statements() {
  if (!globalThis.benchStatements) {
    if (process.env.BENCH_PG_URL) {
      const pool = new pg.Pool({ connectionString: process.env.BENCH_PG_URL, max: 10 });
      globalThis.benchStatements = {
        historyPage: async (limit) => (await pool.query({ name: "history", text: `${HISTORY_PAGE}$1`, values: [limit] })).rows,
        probe: () => pool.query({ name: "probe", text: "SELECT 1 AS ok" }),
      };
    } else {
      const connection = new Database(process.env.BENCH_DB);
      connection.pragma("busy_timeout = 5000");
      const historyPage = connection.prepare(`${HISTORY_PAGE}?`);
      const probe = connection.prepare("SELECT 1 AS ok");
      globalThis.benchStatements = { historyPage: (limit) => historyPage.all(limit), probe: () => probe.get() };
    }
  }
  return globalThis.benchStatements;
}

export const historyPage = async (limit) => statements().historyPage(limit);
export const probe = async () => statements().probe();
