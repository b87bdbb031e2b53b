/**
 * Nesting-depth checks that run on the text before a parser builds anything. Deeply nested input is
 * what makes parsers expensive (the `yaml` composer recurses per level and takes seconds to hit the
 * stack limit on ~1 MB of `[[[[`) and what later breaks recursive code (JSON.stringify, YAML.stringify,
 * zod). Both scans are one linear pass over the characters and stop at the first level too deep.
 */

/** Deeper than any real pipeline, context or API body (they nest a handful of levels). */
export const MAX_NESTING_DEPTH = 64;

/** Where a JSON text first nests deeper than `limit` arrays and objects, or null. Exact for valid JSON. */
export function jsonNestingExceeds(text: string, limit = MAX_NESTING_DEPTH): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i += 1;
      else if (c === DOUBLE_QUOTE) inString = false;
    } else if (c === DOUBLE_QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      depth += 1;
      if (depth > limit) return i;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth -= 1;
  }
  return null;
}

/**
 * Where a YAML text first nests deeper than `limit`, or null. An upper estimate, never less than
 * the truth: it counts flow collections (`[`, `{`, outside quotes, comments and block scalars) and
 * the block collections a line opens in compact form (`- - - x`, `? ? x`). Nesting by indentation
 * alone is left out: each level costs a line of growing indentation, so the size cap bounds it.
 */
export function yamlNestingExceeds(text: string, limit = MAX_NESTING_DEPTH): number | null {
  let flow = 0;
  let quote: string | null = null;
  let nodeStart = true;
  let lineItems = 0;
  let indent = 0;
  let atLineStart = true;
  let blockScalarParent = -1;
  const toLineEnd = (from: number) => {
    const end = text.indexOf("\n", from);
    return (end < 0 ? text.length : end) - 1;
  };
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (c === "\n") {
      atLineStart = true;
      indent = 0;
      lineItems = 0;
      if (!quote && flow === 0) nodeStart = true;
      continue;
    }
    if (atLineStart) {
      if (c === " ") {
        indent += 1;
        continue;
      }
      atLineStart = false;
      if (blockScalarParent >= 0) {
        // A literal or folded block holds every line indented deeper than its parent, and blank lines.
        if (indent > blockScalarParent || c === "\r") {
          i = toLineEnd(i);
          continue;
        }
        blockScalarParent = -1;
      }
    }
    if (quote) {
      if (quote === '"' && c === "\\") i += 1;
      else if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i += 1;
        else {
          quote = null;
          nodeStart = false;
        }
      }
      continue;
    }
    if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      i = toLineEnd(i);
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") continue;
    if ((c === "[" || c === "{") && (nodeStart || flow > 0)) {
      flow += 1;
      if (flow + lineItems > limit) return i;
      nodeStart = true;
      continue;
    }
    if ((c === '"' || c === "'") && nodeStart) {
      quote = c;
      continue;
    }
    if (flow > 0) {
      if (c === "]" || c === "}") flow -= 1;
      nodeStart = c === "," || c === ":";
      continue;
    }
    const spaceAfter = i + 1 >= text.length || /\s/.test(text[i + 1]!);
    if ((c === "-" || c === "?") && nodeStart && spaceAfter) {
      lineItems += 1;
      if (flow + lineItems > limit) return i;
      continue;
    }
    if (c === ":" && spaceAfter) {
      nodeStart = true;
      continue;
    }
    if ((c === "|" || c === ">") && nodeStart) {
      blockScalarParent = indent;
      i = toLineEnd(i);
      continue;
    }
    nodeStart = false;
  }
  return null;
}

const BACKSLASH = 92;
const DOUBLE_QUOTE = 34;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
