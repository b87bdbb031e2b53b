// The reader of bench/beside-maintenance.ts, in a process of its own: it asks for one URL (bearer
// token from BENCH_READER_TOKEN) every READ_EVERY_MS, or at once when a read took longer, and prints
// one line per read: "<start, ms since the epoch> <latency ms> <status>". Apart from the bench, whose
// process holds the seed's modules and polls the server, its own collections are those of a small
// script (a reader inside the bench paused 10-25 ms at a time for its own young collections, and those
// pauses counted as the server's: bench/RESULTS-backup-beside.md).
//   node bench/http-reader.mjs <url> <every ms>
import http from "node:http";
import { performance } from "node:perf_hooks";

const [url, every] = process.argv.slice(2);
const READ_EVERY_MS = Number(every);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const headers = { authorization: `Bearer ${process.env.BENCH_READER_TOKEN}` };

function read() {
  return new Promise((resolve) => {
    const request = http.get(url, { agent, headers }, (response) => {
      response.on("data", () => undefined);
      response.on("end", () => resolve(response.statusCode));
    });
    request.on("error", () => resolve(0));
  });
}

let running = true;
process.on("SIGTERM", () => (running = false));
while (running) {
  const startedAt = Date.now();
  const started = performance.now();
  const status = await read();
  const took = performance.now() - started;
  process.stdout.write(`${startedAt} ${took.toFixed(2)} ${status}\n`);
  if (took < READ_EVERY_MS) await new Promise((resolve) => setTimeout(resolve, READ_EVERY_MS - took));
}
agent.destroy();
