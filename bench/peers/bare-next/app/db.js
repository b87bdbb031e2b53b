import Database from "better-sqlite3";

/**
 * The one connection of the bare peer, on the file in BENCH_DB (opened on the first request, not at
 * build time), and the history page's SQL: the columns and order of our GET /api/v1/jobs.
 */
function statements() {
  if (!globalThis.benchStatements) {
    const connection = new Database(process.env.BENCH_DB);
    connection.pragma("busy_timeout = 5000");
    globalThis.benchStatements = {
      historyPage: connection.prepare(
        "SELECT id, job_id, pipeline, start_time, end_time, duration, status, error, triggered_by FROM job_executions ORDER BY start_time DESC, id DESC LIMIT ?",
      ),
      probe: connection.prepare("SELECT 1 AS ok"),
    };
  }
  return globalThis.benchStatements;
}

export const historyPage = (limit) => statements().historyPage.all(limit);
export const probe = () => statements().probe.get();
