// The ceiling of bench/http.ts: node:http and the database driver with nothing between them, on the
// file in BENCH_DB (better-sqlite3) or the database at BENCH_PG_URL (node-postgres, a pool of 10),
// serving the same SQL as the bare Next.js peer (bench/peers/bare-next/app/db.js). Its /metrics is the
// least a scrape can cost (bench/metrics-scrape.ts): three trivial reads at once, then the body of
// bare-next/metrics-body.mjs, gzipped when the client accepts it.
import http from "node:http";
import { gzipSync } from "node:zlib";
import { METRICS_BODY } from "./bare-next/metrics-body.mjs";
import Database from "better-sqlite3";
import pg from "pg";

const HISTORY_PAGE =
  "SELECT id, job_id, pipeline, start_time, end_time, duration, status, error, triggered_by FROM job_executions ORDER BY start_time DESC, id DESC LIMIT ";

let probe, historyPage;
if (process.env.BENCH_PG_URL) {
  const pool = new pg.Pool({ connectionString: process.env.BENCH_PG_URL, max: 10 });
  probe = () => pool.query({ name: "probe", text: "SELECT 1 AS ok" });
  historyPage = async () => (await pool.query({ name: "history", text: `${HISTORY_PAGE}$1`, values: [50] })).rows;
} else {
  const db = new Database(process.env.BENCH_DB);
  db.pragma("busy_timeout = 5000");
  const history = db.prepare(`${HISTORY_PAGE}?`);
  const select = db.prepare("SELECT 1 AS ok");
  probe = async () => select.get();
  historyPage = async () => history.all(50);
}

http
  .createServer(async (request, response) => {
    if (request.url.startsWith("/metrics")) {
      await Promise.all([probe(), probe(), probe()]);
      const gzip = /\bgzip\b/.test(request.headers["accept-encoding"] ?? "");
      const headers = { "content-type": "text/plain; version=0.0.4; charset=utf-8" };
      response.writeHead(200, gzip ? { ...headers, "content-encoding": "gzip" } : headers);
      response.end(gzip ? gzipSync(METRICS_BODY) : METRICS_BODY);
      return;
    }
    const health = request.url.startsWith("/health");
    const body = health ? (await probe(), JSON.stringify({ status: "ok" })) : JSON.stringify(await historyPage());
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
