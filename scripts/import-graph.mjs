#!/usr/bin/env node
// The lib/ import graph, checked: prints the cycles among lib/** runtime imports, the files that
// importing lib/http.ts and lib/jobs/service.ts loads, and any capability that reads another's
// queries.ts. Exits 1 when there is a cycle, a foreign queries.ts import, or a closure over its limit,
// so `npm run lint` keeps the layering of README "How lib/ is layered" true.
//
// Parsing uses the TypeScript compiler (already a dev dependency) rather than a regex, so that
// `import type`, `import { type X }` and `export type … from` are told apart from imports that load
// a module at run time. Only runtime edges count: a type-only import is erased and cannot form a
// load-time cycle. `import()` counts too: deferring a load hides a dependency, it does not remove it.
//
// Usage: node scripts/import-graph.mjs [--quiet] [--closure lib/some/file.ts]
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LIB = path.join(ROOT, "lib");
/** Files an import may load at most: the whole point of the layering is that these stay small. */
// lib/jobs/service.ts: 41 since PostgreSQL, for lib/db/dialect.ts (the one home of the SQL fragments that differ per backend);
// 42 since the write freeze of a switch to PostgreSQL (lib/db/write-freeze.ts) guards the SQLite connection itself.
const CLOSURE_LIMITS = { "lib/http.ts": 40, "lib/jobs/service.ts": 42 };
/**
 * A table's SQLite and PostgreSQL flavours (lib/db/schema/{sqlite,pg}/*.ts) are one table loaded
 * through its selector (lib/db/schema/<name>.ts): the closure counts the selector, not its flavours
 * nor the one module that picks between them (select.ts), so the limit keeps measuring layering
 * rather than the number of backends.
 */
const SCHEMA_FLAVOUR = /^lib\/db\/schema\/((sqlite|pg)\/|select\.ts$)/;
const quiet = process.argv.includes("--quiet");

function listSources(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listSources(full));
    else if (/\.tsx?$/.test(entry) && !/\.test\.tsx?$/.test(entry) && !entry.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

function resolveSpecifier(fromFile, spec) {
  let base;
  if (spec.startsWith("@/")) base = path.join(ROOT, spec.slice(2));
  else if (spec.startsWith(".")) base = path.resolve(path.dirname(fromFile), spec);
  else return null; // a package, not ours
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Whether an import/export declaration loads its module at run time. */
function isRuntime(node) {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause;
    if (!clause) return true; // `import "x"`: a side effect
    if (clause.isTypeOnly) return false;
    if (clause.name) return true;
    const bindings = clause.namedBindings;
    if (!bindings || ts.isNamespaceImport(bindings)) return true;
    return bindings.elements.length === 0 || bindings.elements.some((e) => !e.isTypeOnly);
  }
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return false;
    const clause = node.exportClause;
    if (!clause || !ts.isNamedExports(clause)) return true;
    return clause.elements.some((e) => !e.isTypeOnly);
  }
  return false;
}

function runtimeImports(file) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const specs = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (isRuntime(node)) specs.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) specs.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specs;
}

const rel = (file) => path.relative(ROOT, file).split(path.sep).join("/");
/** `lib/backups/service.ts` → `backups`; a root file such as `lib/http.ts` is its own unit. */
const capabilityOf = (relFile) => {
  const parts = relFile.split("/");
  return parts.length > 2 ? parts[1] : parts[1].replace(/\.tsx?$/, "");
};

const files = listSources(LIB).map(rel).sort();
const graph = new Map(files.map((f) => [f, new Set()]));
for (const f of files) {
  for (const spec of runtimeImports(path.join(ROOT, f))) {
    const target = resolveSpecifier(path.join(ROOT, f), spec);
    if (target && rel(target).startsWith("lib/")) graph.get(f).add(rel(target));
  }
}

/** Tarjan's strongly connected components; every component of more than one node is a cycle. */
function stronglyConnected(nodes, edgesOf) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  const connect = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of edgesOf(v)) {
      if (!idx.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || edgesOf(v).has(v)) out.push(component.sort());
    }
  };
  for (const v of nodes) if (!idx.has(v)) connect(v);
  return out;
}

function closure(start) {
  const seen = new Set([start]);
  const todo = [start];
  while (todo.length > 0) {
    for (const next of graph.get(todo.pop()) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

const fileCycles = stronglyConnected(files, (f) => graph.get(f));

const capabilities = [...new Set(files.map(capabilityOf))].sort();
const capabilityEdges = new Map(capabilities.map((c) => [c, new Set()]));
for (const [from, targets] of graph) {
  for (const to of targets) if (capabilityOf(from) !== capabilityOf(to)) capabilityEdges.get(capabilityOf(from)).add(capabilityOf(to));
}
const capabilityCycles = stronglyConnected(capabilities, (c) => capabilityEdges.get(c));

// STYLE.md: "a capability uses another through that one's service, never its queries".
const foreignQueries = [];
for (const [from, targets] of graph) {
  for (const to of targets) {
    if (/\/queries\.ts$/.test(to) && capabilityOf(from) !== capabilityOf(to)) foreignQueries.push(`${from} → ${to}`);
  }
}

const problems = [];
const log = (line) => {
  if (!quiet) console.log(line);
};
log(`lib/ import graph: ${files.length} files, ${[...graph.values()].reduce((n, s) => n + s.size, 0)} runtime imports`);
log(`file-level cycles: ${fileCycles.length}`);
for (const cycle of fileCycles) {
  log(`  [${cycle.length}] ${cycle.join(", ")}`);
  problems.push(`a cycle of ${cycle.length} files`);
}
log(`capability-level cycles: ${capabilityCycles.length}`);
for (const cycle of capabilityCycles) {
  log(`  [${cycle.length}] ${cycle.join(", ")}`);
  // The file imports that tie it together, so the edge to turn round can be found.
  const inside = new Set(cycle);
  for (const [from, targets] of graph) {
    for (const to of targets) {
      if (capabilityOf(from) !== capabilityOf(to) && inside.has(capabilityOf(from)) && inside.has(capabilityOf(to))) log(`      ${from} → ${to}`);
    }
  }
  problems.push(`a cycle of ${cycle.length} capabilities`);
}
log(`imports of another capability's queries.ts: ${foreignQueries.length}`);
for (const edge of foreignQueries) {
  log(`  ${edge}`);
  problems.push(`foreign queries import ${edge}`);
}
for (const [file, limit] of Object.entries(CLOSURE_LIMITS)) {
  const size = [...closure(file)].filter((loaded) => !SCHEMA_FLAVOUR.test(loaded)).length;
  log(`closure of ${file}: ${size} lib files (limit ${limit})`);
  if (size > limit) problems.push(`${file} loads ${size} lib files (limit ${limit})`);
}

const closureArg = process.argv.indexOf("--closure");
if (closureArg > 0) {
  const file = process.argv[closureArg + 1];
  log(`files loaded by ${file}:`);
  for (const loaded of [...closure(file)].sort()) log(`  ${loaded}`);
}

if (problems.length > 0) {
  console.error(`import graph: ${problems.length} problem(s); see README "How lib/ is layered"`);
  if (!process.argv.includes("--report-only")) process.exit(1);
} else {
  log("import graph: one way, no cycles");
}
