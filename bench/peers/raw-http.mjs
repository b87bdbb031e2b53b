// The ceiling of bench/http.ts: node:http and the database driver with nothing between them, on the
// file in BENCH_DB (better-sqlite3) or the database at BENCH_PG_URL (node-postgres, a pool of 10),
// serving the same SQL as the bare Next.js peer (bench/peers/bare-next/app/db.js).
import http from "node:http";
import Database from "better-sqlite3";
import pg from "pg";

const HISTORY_PAGE =
  "SELECT id, job_id, pipeline, start_time, end_time, duration, status, error, triggered_by FROM job_executions ORDER BY start_time DESC, id DESC LIMIT ";

let answer;
if (process.env.BENCH_PG_URL) {
  const pool = new pg.Pool({ connectionString: process.env.BENCH_PG_URL, max: 10 });
  answer = async (health) =>
    health
      ? (await pool.query({ name: "probe", text: "SELECT 1 AS ok" }), JSON.stringify({ status: "ok" }))
      : JSON.stringify((await pool.query({ name: "history", text: `${HISTORY_PAGE}$1`, values: [50] })).rows);
} else {
  const db = new Database(process.env.BENCH_DB);
  db.pragma("busy_timeout = 5000");
  const historyPage = db.prepare(`${HISTORY_PAGE}?`);
  const probe = db.prepare("SELECT 1 AS ok");
  answer = async (health) => (health ? (probe.get(), JSON.stringify({ status: "ok" })) : JSON.stringify(historyPage.all(50)));
}

http
  .createServer(async (request, response) => {
    const body = await answer(request.url.startsWith("/health"));
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
