// The headers every kind of answer carries, from a running server, in a form two builds can be diffed
// by: status and each header of a fixed list of requests (path forms that decode or normalise to the
// data paths, trailing slashes, pages, static files, refusals, TLS behind a proxy). Values that change
// per request (date, nonce, cookie values, build ids, etags, lengths of answers holding a time) are
// masked. Sent with node:http so the path reaches the server as written (fetch normalises `/../`).
//
//   node bench/answer-headers.mjs http://127.0.0.1:PORT TOKEN > before.txt   # then the other build, and diff
import http from "node:http";

const [base, token] = process.argv.slice(2);
if (!base || !token) throw new Error("usage: node bench/answer-headers.mjs BASE_URL TOKEN");
const { hostname, port } = new URL(base);
const auth = { authorization: `Bearer ${token}` };
const tls = { "x-forwarded-proto": "https" };

const REQUESTS = [
  ["GET", "/health", {}],
  ["GET", "/health", auth],
  ["GET", "/health", tls],
  ["HEAD", "/health", {}],
  ["POST", "/health", {}],
  ["GET", "/health/", {}],
  ["GET", "/%68ealth", {}],
  ["GET", "/api/v1/../health", {}],
  ["GET", "/api/v1/%2e%2e/../health", {}],
  ["GET", "/HEALTH", {}],
  ["GET", "//health", {}],
  ["GET", "/health//", {}],
  ["GET", "/api", auth],
  ["GET", "/api/", auth],
  ["GET", "//api/v1/jobs", auth],
  ["GET", "/api\\v1/jobs", auth],
  ["GET", "/./api/v1/jobs?limit=2", auth],
  ["GET", "/api/v1/jobs?x=/../../login", auth],
  ["GET", "/api/v1/jobs?limit=2", auth],
  ["GET", "/api/v1/jobs?limit=2", { ...auth, ...tls }],
  ["GET", "/api/v1/jobs", {}],
  ["GET", "/api/v1/jobs/", auth],
  ["GET", "/%61pi/v1/jobs?limit=2", auth],
  ["GET", "/api/v1/%6aobs?limit=2", auth],
  ["GET", "/API/v1/jobs", auth],
  ["GET", "/api/v1/nothing-here", auth],
  ["GET", "/api/v1/jobs?limit=x", auth],
  ["DELETE", "/api/v1/jobs", auth],
  ["OPTIONS", "/api/v1/jobs", auth],
  ["POST", "/api/v1/scheduler/jobs", { ...auth, "content-type": "application/json" }],
  ["GET", "/api/v1/openapi.json", {}],
  ["GET", "/metrics", {}],
  ["GET", "/metrics", auth],
  ["GET", "/metrics/", auth],
  ["GET", "/", {}],
  ["GET", "/", tls],
  ["GET", "/login", {}],
  ["GET", "/login/", {}],
  ["GET", "/%6cogin", {}],
  ["GET", "/no-such-page", {}],
  ["GET", "/favicon.ico", {}],
  ["GET", "/icon.svg", {}],
  ["GET", "/_next/static/no-such-file.js", {}],
  ["TRACE", "/", {}],
  ["PROPFIND", "/api/v1/jobs", {}],
  ["GET", "/health", { host: "evil.example" }],
  ["GET", "/api/v1/jobs", { ...auth, host: "evil.example" }],
  ["GET", "/login", { host: "evil.example" }],
  ["GET", "/health", { "x-forwarded-host": "evil.example" }],
];

const VARYING = new Set(["date", "etag", "last-modified", "x-nextjs-stale-time", "x-nextjs-prerender", "x-nextjs-cache", "keep-alive", "age"]);

function send(method, path, headers) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: hostname, port, method, path, headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response));
    });
    request.on("error", reject);
    request.end();
  });
}

function mask(name, value) {
  if (VARYING.has(name)) return "*";
  if (name === "set-cookie") return [value].flat().map((cookie) => cookie.replace(/=[^;]*/, "=*"));
  if (name === "content-length") return "*";
  return String(value).replace(/'nonce-[^']+'/g, "'nonce-*'");
}

for (const [method, path, headers] of REQUESTS) {
  const response = await send(method, path, headers);
  const shown = Object.keys(response.headers)
    .sort()
    .map((name) => `    ${name}: ${mask(name, response.headers[name])}`);
  console.log(`${method} ${path} ${JSON.stringify(headers).replace(token, "TOKEN")} -> ${response.statusCode}\n${shown.join("\n")}`);
}
