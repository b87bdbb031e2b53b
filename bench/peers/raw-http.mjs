// The ceiling of bench/http.ts: node:http and better-sqlite3 with nothing between them, on the file in
// BENCH_DB, serving the same SQL as the bare Next.js peer (bench/peers/bare-next/app/db.js).
import http from "node:http";
import Database from "better-sqlite3";

const db = new Database(process.env.BENCH_DB);
db.pragma("busy_timeout = 5000");
const historyPage = db.prepare(
  "SELECT id, job_id, pipeline, start_time, end_time, duration, status, error, triggered_by FROM job_executions ORDER BY start_time DESC, id DESC LIMIT ?",
);
const probe = db.prepare("SELECT 1 AS ok");

http
  .createServer((request, response) => {
    const body = request.url.startsWith("/health") ? (probe.get(), JSON.stringify({ status: "ok" })) : JSON.stringify(historyPage.all(50));
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
