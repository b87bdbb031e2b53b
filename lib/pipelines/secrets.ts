import { isMap, isSeq, parseDocument, type Document } from "yaml";

/**
 * Secrets inside pipeline steps' `config:` (a webhook URL's path and query, header values such as
 * Authorization, anything named like a password, token, secret or key) are shown masked to callers
 * below write scope. A writer who saves a text whose masked values came back unchanged keeps the
 * stored secrets (the Settings page's rule for its secrets: never shown again, kept unless retyped).
 */
export const SECRET_MASK = "********";

/** Config keys whose whole value is a secret. */
const SECRET_KEY = /pass(word)?|passwd|secret|token|api[-_]?key|(^|[-_])key$|private|credential|auth|signature|cookie|session/i;
const HEADERS_KEY = /^headers$/i;
/** Values shorter than this are not scrubbed from run output: they would match ordinary words. */
const MIN_SCRUB_LENGTH = 6;

type Path = (string | number)[];

/** An http(s) URL with its user info, path, query and fragment replaced by the mask; other values unchanged. */
function maskUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return value;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return value;
  const bare = url.username === "" && url.password === "" && (url.pathname === "/" || url.pathname === "") && url.search === "" && url.hash === "";
  return bare ? value : `${url.protocol}//${url.host}/${SECRET_MASK}`;
}

/** Each secret leaf of a step's config: its path below `config` and its masked form. */
function secretLeaves(value: unknown, path: Path = [], whole = false): { path: Path; value: unknown; masked: unknown }[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((child, index) => secretLeaves(child, [...path, index], whole));
  if (typeof value === "object") {
    return Object.entries(value).flatMap(([key, child]) => secretLeaves(child, [...path, key], whole || SECRET_KEY.test(key) || HEADERS_KEY.test(key)));
  }
  if (whole) return typeof value === "string" || typeof value === "number" ? [{ path, value, masked: SECRET_MASK }] : [];
  if (typeof value === "string") {
    const masked = maskUrl(value);
    // A URL already masked (sent back by a writer) still counts, so that restoreMaskedSecrets can match it.
    return masked === value && !value.endsWith(`/${SECRET_MASK}`) ? [] : [{ path, value, masked }];
  }
  return [];
}

/** The step lists of a parsed pipeline document (one pipeline, or a `pipelines:` bundle), by their path. */
function stepLists(js: unknown): { path: Path; steps: unknown[] }[] {
  if (!js || typeof js !== "object") return [];
  const record = js as Record<string, unknown>;
  if (Array.isArray(record.pipelines)) {
    return record.pipelines.flatMap((pipeline, index) =>
      pipeline && typeof pipeline === "object" && Array.isArray((pipeline as Record<string, unknown>).steps)
        ? [{ path: ["pipelines", index, "steps"], steps: (pipeline as Record<string, unknown>).steps as unknown[] }]
        : [],
    );
  }
  return Array.isArray(record.steps) ? [{ path: ["steps"], steps: record.steps }] : [];
}

function stepConfig(step: unknown): unknown {
  return step && typeof step === "object" ? (step as Record<string, unknown>).config : undefined;
}

function parse(text: string): Document | null {
  const doc = parseDocument(text, { uniqueKeys: true });
  return doc.errors.length > 0 || !(isMap(doc.contents) || isSeq(doc.contents)) ? null : doc;
}

/** Shown in place of a stored text that cannot be parsed, and so cannot be masked piece by piece. */
const UNREADABLE_TEXT = `# This pipeline's text is not valid YAML, so it is hidden: it may hold secrets. A caller with write scope sees it.\n`;

/** A pipeline text with every secret in its steps' config masked; comments and layout kept. */
export function maskPipelineText(text: string): string {
  const doc = parse(text);
  if (!doc) return UNREADABLE_TEXT;
  const js: unknown = doc.toJS({ maxAliasCount: 100 });
  let changed = false;
  for (const list of stepLists(js)) {
    list.steps.forEach((step, index) => {
      for (const leaf of secretLeaves(stepConfig(step))) {
        doc.setIn([...list.path, index, "config", ...leaf.path], leaf.masked);
        changed = true;
      }
    });
  }
  return changed ? doc.toString() : text;
}

/** A parsed definition (or any value shaped like one) with its steps' secrets masked. */
export function maskDefinition<T extends Record<string, unknown> | null>(definition: T): T {
  if (!definition || !Array.isArray(definition.steps)) return definition;
  const steps = (definition.steps as unknown[]).map((step) => {
    const config = stepConfig(step);
    if (!config || typeof config !== "object") return step;
    const copy = structuredClone(config) as Record<string, unknown>;
    for (const leaf of secretLeaves(config)) setPath(copy, leaf.path, leaf.masked);
    return { ...(step as Record<string, unknown>), config: copy };
  });
  return { ...definition, steps };
}

function setPath(target: Record<string, unknown>, path: Path, value: unknown): void {
  let node: Record<string | number, unknown> = target;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
}

function stepName(step: unknown): string | null {
  const name = step && typeof step === "object" ? (step as Record<string, unknown>).name : undefined;
  return typeof name === "string" ? name : null;
}

/**
 * Puts the stored secrets back into a text a writer sends: a secret whose value is still the mask of
 * the stored value at the same place (same pipeline path, step name and key) takes the stored value.
 * Anything retyped is kept as sent. Returns the text unchanged when nothing was masked.
 */
export function restoreMaskedSecrets(text: string, storedText: string): string {
  if (!text.includes(SECRET_MASK)) return text;
  const doc = parse(text);
  const stored = parse(storedText);
  if (!doc || !stored) return text;
  const storedLists = new Map(stepLists(stored.toJS({ maxAliasCount: 100 })).map((list) => [list.path.join("."), list.steps]));
  let changed = false;
  for (const list of stepLists(doc.toJS({ maxAliasCount: 100 }))) {
    const storedSteps = storedLists.get(list.path.join(".")) ?? [];
    list.steps.forEach((step, index) => {
      const name = stepName(step);
      const match = storedSteps.find((candidate) => name !== null && stepName(candidate) === name);
      if (!match) return;
      const storedLeaves = new Map(secretLeaves(stepConfig(match)).map((leaf) => [JSON.stringify(leaf.path), leaf]));
      for (const leaf of secretLeaves(stepConfig(step))) {
        const original = storedLeaves.get(JSON.stringify(leaf.path));
        if (original && leaf.value === original.masked) {
          doc.setIn([...list.path, index, "config", ...leaf.path], original.value);
          changed = true;
        }
      }
    });
  }
  return changed ? doc.toString() : text;
}

/** The secret strings of a definition's steps, for scrubbing them out of what a run records. */
export function secretValuesOf(definition: { steps: { config?: Record<string, unknown> }[] }): string[] {
  const values = new Set<string>();
  for (const step of definition.steps) {
    for (const leaf of secretLeaves(step.config)) {
      const value = String(leaf.value);
      if (value.length >= MIN_SCRUB_LENGTH) values.add(value);
      // A URL's secret is its path and query: scrub those alone too, as a plugin may print them apart from the host.
      try {
        const url = new URL(value);
        const tail = `${url.pathname}${url.search}`;
        if (tail.length >= MIN_SCRUB_LENGTH) values.add(tail);
      } catch {
        // not a URL
      }
    }
  }
  // Longest first, so a URL is replaced whole before its path is.
  return [...values].sort((a, b) => b.length - a.length);
}

/** `text` with every one of `secrets` replaced by the mask. */
export function scrubSecrets(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(SECRET_MASK);
  return out;
}
