// A request's CPU time by part, from a `node --cpu-prof` profile of our server (bench/http-profile.ts
// prints the window and CPU figures to pass): each sample goes to the first part, in this order, that
// any frame of its stack belongs to, so a part counts what it calls (its share of JSON, Response and
// stream code included).
//
//   node bench/cpu-parts.mjs PROFILE REQUESTS --from µs --to µs --cpu µs --proxy CHUNK --drizzle CHUNK [--ours 'CHUNK|CHUNK']
import fs from "node:fs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [, value] = args.splice(at, 2);
  return value;
};
const from = Number(option("--from", -Infinity));
const to = Number(option("--to", Infinity));
const cpu = Number(option("--cpu", 0));
const proxyChunk = option("--proxy", "^$");
const drizzleChunk = option("--drizzle", "^$");
const ourChunks = option("--ours", "^$");
const [file, requestsText] = args;
const requests = Number(requestsText);
const profile = JSON.parse(fs.readFileSync(file, "utf8"));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const PARTS = [
  ["GC and V8", (frame, leaf) => leaf && /^\((garbage collector|program)\)$/.test(frame.functionName)],
  ["idle", (frame, leaf) => leaf && frame.functionName === "(idle)"],
  [
    "proxy.ts and its invocation (NextRequest, middleware bundle, BubbledError)",
    (frame) =>
      new RegExp(proxyChunk).test(frame.url) ||
      /^(runMiddleware|NextNodeServer\.handleCatchallMiddlewareRequest|BubbledError)$/.test(frame.functionName) ||
      /spec-extension\/adapters\/next-request/.test(frame.url),
  ],
  [
    "SQLite statements (better-sqlite3, native)",
    (frame, leaf) => leaf && new RegExp(drizzleChunk).test(frame.url) && /^(values|all|get|run)$/.test(frame.functionName),
  ],
  ["drizzle (binding, row mapping)", (frame) => new RegExp(drizzleChunk).test(frame.url)],
  ["our route code (route(), auth, listing, logging, metrics; its Response.json)", (frame) => new RegExp(ourChunks).test(frame.url)],
  ["Next.js server (router, route module, its Request/Response)", (frame) => /node_modules\/next\/|\.next\/server\/chunks\//.test(frame.url)],
  ["Node (HTTP, sockets, streams, undici) outside the above", () => true],
];

const totals = new Map(PARTS.map(([name]) => [name, 0]));
let time = profile.startTime;
for (let i = 0; i < profile.samples.length; i += 1) {
  time += profile.timeDeltas[i];
  if (time < from || time > to) continue;
  const micros = profile.timeDeltas[i + 1] ?? 0;
  const stack = [];
  for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) stack.push(nodes.get(id).callFrame);
  const part = PARTS.find(([, test]) => stack.some((frame, index) => test(frame, index === 0)))[0];
  totals.set(part, totals.get(part) + micros);
}
const busy = [...totals].filter(([name]) => name !== "idle").reduce((sum, [, micros]) => sum + micros, 0);
const scale = cpu > 0 ? cpu / busy : 1;
for (const [name, micros] of totals) {
  if (name === "idle") continue;
  console.log(`${((micros * scale) / requests).toFixed(0).padStart(6)} µs/req  ${((micros / busy) * 100).toFixed(1).padStart(5)}%  ${name}`);
}
console.log(`${((busy * scale) / requests).toFixed(0).padStart(6)} µs/req  total CPU per request`);
