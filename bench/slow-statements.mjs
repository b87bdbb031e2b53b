// Diagnostic preload for the benches (not product code): prints to stderr every better-sqlite3 call that
// holds its thread over SLOW_MS, with its SQL, and every stall of a thread's event loop over STALL_MS. It
// is how bench/RESULTS-http-speed.md found what each page load and each maintenance step ran on the
// event loop:
//   NODE_OPTIONS="--import ./bench/slow-statements.mjs" npm run bench:pages 2>&1 | grep SLOWSQL
// Workers and child processes inherit NODE_OPTIONS, so their statements are printed too (their stalls
// hold only themselves, not the server's requests). SLOW_SQL_MS and LOOP_STALL_MS lower the thresholds
// (e.g. 10 and 30 for the beside-maintenance goal of a 30 ms p99); GC_PAUSE_MS adds V8's collections
// that took longer, and the bench's BENCH_SLOW_READ_MS the reads that did, to line the three up:
//   SLOW_SQL_MS=10 LOOP_STALL_MS=30 GC_PAUSE_MS=5 BENCH_SLOW_READ_MS=25 NODE_OPTIONS="--import ./bench/slow-statements.mjs" npm run bench:beside-maintenance
import { createRequire } from "node:module";
import path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { isMainThread } from "node:worker_threads";

const SLOW_MS = Number(process.env.SLOW_SQL_MS ?? 40);
const STALL_MS = Number(process.env.LOOP_STALL_MS ?? 150);
// GC_PAUSE_MS prints each of V8's collections that took longer (a full one pauses the thread it runs on).
const GC_PAUSE_MS = Number(process.env.GC_PAUSE_MS ?? Infinity);
// The tick is finer than the smallest stall asked for, so a stall is measured, not rounded to a tick.
const TICK_MS = Math.min(50, Math.max(5, Math.floor(STALL_MS / 3)));
// Which thread of which process: only a main thread's stall holds requests.
const WHERE = `[${process.pid}${isMainThread ? "" : " worker"}]`;
const require = createRequire(path.join(process.cwd(), "package.json"));
const Database = require("better-sqlite3");

function timed(owner, name, describe) {
  const original = owner[name];
  owner[name] = function (...args) {
    const started = performance.now();
    try {
      return original.apply(this, args);
    } finally {
      const ms = performance.now() - started;
      if (ms > SLOW_MS)
        process.stderr.write(
          `SLOWSQL ${WHERE} ${new Date().toISOString().slice(11, 23)} ${ms.toFixed(0)}ms ${name} ${describe(this, args).replace(/\s+/g, " ").slice(0, 200)}\n`,
        );
    }
  };
}

const probe = new Database(":memory:");
const statement = Object.getPrototypeOf(probe.prepare("SELECT 1"));
probe.close();
for (const name of ["run", "get", "all", "iterate"]) timed(statement, name, (self) => self.source);
for (const name of ["pragma", "exec"]) timed(Database.prototype, name, (_self, args) => String(args[0]));

let last = performance.now();
setInterval(() => {
  const now = performance.now();
  if (now - last > STALL_MS) process.stderr.write(`LOOPSTALL ${WHERE} ${(now - last - TICK_MS).toFixed(0)}ms at ${new Date().toISOString()}\n`);
  last = now;
}, TICK_MS).unref();

if (Number.isFinite(GC_PAUSE_MS)) {
  const KINDS = { 1: "young", 4: "full", 8: "incremental", 16: "weak" };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.duration > GC_PAUSE_MS)
        process.stderr.write(
          `GCPAUSE ${WHERE} ${new Date(performance.timeOrigin + entry.startTime).toISOString().slice(11, 23)} ${entry.duration.toFixed(1)}ms ${KINDS[entry.detail?.kind] ?? entry.detail?.kind}${entry.detail?.flags & 4 ? " forced" : ""}\n`,
        );
    }
  }).observe({ entryTypes: ["gc"] });
}
