import { isMap, LineCounter, parseDocument, type Document } from "yaml";
import { z } from "zod";
import { MAX_NESTING_DEPTH, yamlNestingExceeds } from "@/lib/nesting";
import type { StepChecker } from "@/lib/pipelines/step-checks";

/**
 * The largest pipeline text taken from a request (editor, API). Real pipelines are a few KiB, and
 * parsing YAML costs about a microsecond a byte on the server's main thread, so this bounds what one
 * request can hold it for. Files placed in the pipelines volume keep their own, larger cap.
 */
export const MAX_PIPELINE_TEXT_BYTES = 64 * 1024;
/** Alias expansions allowed when the document is turned into values (a "billion laughs" stops here). */
const MAX_ALIAS_COUNT = 100;
import { plainIssueMessage, plainYamlMessage } from "@/lib/issue-text";

/**
 * Pipeline and file names become paths in the pipelines volume: letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit, so `..`, `/` and hidden files can never be named.
 */
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Route segments that sit beside /pipelines/{id}; a pipeline may not take these names. */
const RESERVED_PIPELINE_NAMES = new Set(["execute"]);

export const pipelineName = z
  .string()
  .regex(PIPELINE_NAME_PATTERN, "letters, digits, '.', '_' and '-' only, starting with a letter or digit, at most 100 characters")
  .refine((name) => !name.includes(".."), "may not contain '..'")
  .refine((name) => !/\.ya?ml$/i.test(name), "may not end in .yaml or .yml (that is the file name)")
  .refine((name) => !RESERVED_PIPELINE_NAMES.has(name), "is reserved by the API");

/** Mimir AIP's step: which plugin runs, with what config, and where its output goes in the context. */
export const pipelineStep = z.strictObject({
  name: z.string().trim().min(1, "a step needs a name").max(200),
  plugin: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, "a plugin name such as 'System.webhook' or 'Input.http'"),
  config: z.record(z.string(), z.unknown()).optional(),
  output: z.string().trim().min(1).max(200).optional(),
  /** Seconds before the step is killed; absent means DEFAULT_STEP_TIMEOUT_SECONDS. Not in Mimir's schema. */
  timeout: z.number().int().min(1).max(86_400).optional(),
});

/** Steps per pipeline: one run (or one request to /pipelines/execute) must not fan out without end. */
export const MAX_PIPELINE_STEPS = 100;

export const pipelineDefinition = z.strictObject({
  name: pipelineName,
  description: z.string().max(2000).optional(),
  enabled: z.boolean().optional(),
  steps: z.array(pipelineStep).min(1, "a pipeline needs at least one step").max(MAX_PIPELINE_STEPS, `a pipeline may have at most ${MAX_PIPELINE_STEPS} steps`),
  /** Mimir's files carry these; kept, not interpreted. */
  version: z.union([z.string(), z.number()]).optional(),
  tags: z.array(z.string()).optional(),
});

export type PipelineDefinition = z.infer<typeof pipelineDefinition>;
export type PipelineStep = z.infer<typeof pipelineStep>;

/** One problem found in a pipeline text, located for the editor and for scripts. */
export interface PipelineIssue {
  /** 1-based; null when the problem has no place in the text (an empty file) */
  line: number | null;
  column: number | null;
  /** character offset of the start of the problem, for editor highlighting */
  offset: number | null;
  /** dotted path inside the document ("steps.0.plugin"), "" for the whole document */
  path: string;
  message: string;
}

export type ParseResult = { ok: true; pipelines: PipelineDefinition[] } | { ok: false; issues: PipelineIssue[] };

/**
 * Parses a pipeline text (YAML, or JSON, which is YAML) holding one pipeline or `pipelines: [...]`,
 * and reports every problem at once, each with its line and column. With `checkStep`, each step is
 * also checked against the plugins that exist and their config schemas (a pipeline that would fail
 * at its first run is not valid).
 */
export function parsePipelineText(text: string, options: { checkStep?: StepChecker | null } = {}): ParseResult {
  const deep = yamlNestingExceeds(text);
  if (deep !== null) {
    return { ok: false, issues: [{ ...positionOf(text, deep), path: "", message: `The text nests collections more than ${MAX_NESTING_DEPTH} levels deep` }] };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locate = (offset: number | null | undefined) => {
    if (offset === null || offset === undefined) return { line: null, column: null, offset: null };
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col, offset };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((error) => ({ ...locate(error.pos[0]), path: "", message: plainYamlMessage(error.code, firstLine(error.message)) })),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml library throws a ReferenceError when aliases expand past the count; anything else is a bug.
    if (!(error instanceof ReferenceError)) throw error;
    return {
      ok: false,
      issues: [{ line: null, column: null, offset: null, path: "", message: `The text expands aliases (*name) more than ${MAX_ALIAS_COUNT} times` }],
    };
  }
  if (value === null || value === undefined) {
    return { ok: false, issues: [{ line: null, column: null, offset: null, path: "", message: "The pipeline is empty" }] };
  }
  const bundle = isMap(doc.contents) && doc.has("pipelines");
  const schema = bundle ? z.strictObject({ pipelines: z.array(pipelineDefinition).min(1) }) : pipelineDefinition;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => {
        const path = issue.path.map(String);
        return { ...locate(nodeOffset(doc, issue.path as (string | number)[])), path: path.join("."), message: plainIssueMessage(issue) };
      }),
    };
  }
  const pipelines = bundle ? (parsed.data as { pipelines: PipelineDefinition[] }).pipelines : [parsed.data as PipelineDefinition];
  const names = new Set<string>();
  for (const [index, pipeline] of pipelines.entries()) {
    if (names.has(pipeline.name)) {
      const path = bundle ? ["pipelines", index, "name"] : ["name"];
      return {
        ok: false,
        issues: [{ ...locate(nodeOffset(doc, path)), path: path.join("."), message: `Pipeline '${pipeline.name}' appears twice in this file` }],
      };
    }
    names.add(pipeline.name);
  }
  if (options.checkStep) {
    const issues: PipelineIssue[] = [];
    for (const [index, pipeline] of pipelines.entries()) {
      for (const [stepIndex, step] of pipeline.steps.entries()) {
        for (const problem of options.checkStep(step)) {
          const path = [...(bundle ? ["pipelines", index] : []), "steps", stepIndex, ...problem.path];
          issues.push({ ...locate(nodeOffset(doc, path)), path: path.join("."), message: problem.message });
        }
      }
    }
    if (issues.length > 0) return { ok: false, issues };
  }
  return { ok: true, pipelines };
}

/** Line and column (1-based) of an offset, for problems found before the parser ran. */
function positionOf(text: string, offset: number): { line: number; column: number; offset: number } {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf("\n"); at >= 0 && at < offset; at = text.indexOf("\n", at + 1)) {
    line += 1;
    lineStart = at + 1;
  }
  return { line, column: offset - lineStart + 1, offset };
}

/** The start of the deepest node that exists along `path`, so an issue points as close as possible. */
function nodeOffset(doc: Document, path: (string | number)[]): number | null {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    // A missing field or an unknown key has no node of its own: point at the map that should hold it.
    if (node && typeof node === "object" && "range" in node && Array.isArray(node.range)) return node.range[0] as number;
  }
  return null;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

/** Mimir AIP's JSON body for POST /pipelines: `{"metadata": {name, description, enabled}, "config": {steps, …}}`. */
export const mimirPipelineBody = z.object({
  metadata: z.object({
    name: z.string().optional(),
    description: z.string().optional(),
    enabled: z.boolean().optional(),
    tags: z.array(z.string()).optional(),
  }),
  config: z.record(z.string(), z.unknown()),
});
