/**
 * Validation problems in words for the person at the form, not the developer: zod's default
 * messages ("Too small: expected number to be >=0") and the YAML parser's ("Sequence item without
 * - indicator") become what is wrong and how to fix it. Messages written by our own schemas are
 * kept as they are. Client-safe: the pipeline editor checks as you type.
 */
import type { z } from "zod";
import type { ErrorCode } from "yaml";

type Issue = z.core.$ZodIssue;

/** zod's own messages begin with these; anything else was written by us and is already plain. */
const ZOD_DEFAULT =
  /^(Too small|Too big|Invalid input|Invalid option|Unrecognized key|Invalid string|Invalid number|Invalid element|Invalid key|Invalid value)/;

function plural(n: number | bigint, noun: string): string {
  return `${n} ${Number(n) === 1 ? noun : `${noun}s`}`;
}

function quoteList(values: readonly unknown[]): string {
  return values.map((value) => (typeof value === "string" ? `'${value}'` : String(value))).join(", ");
}

/** One zod issue as a sentence an operator can act on. */
export function plainIssueMessage(issue: Issue): string {
  if (!ZOD_DEFAULT.test(issue.message)) return issue.message;
  switch (issue.code) {
    case "too_small": {
      const min = issue.minimum;
      if (issue.origin === "string") return Number(min) <= 1 ? "Must not be empty" : `Must be at least ${plural(min, "character")}`;
      if (issue.origin === "array" || issue.origin === "set") return `Needs at least ${plural(min, "entry")}`.replace("entrys", "entries");
      return issue.inclusive === false ? `Must be more than ${min}` : `Must be ${min} or more`;
    }
    case "too_big": {
      const max = issue.maximum;
      if (issue.origin === "string") return `Must be at most ${plural(max, "character")}`;
      if (issue.origin === "array" || issue.origin === "set") return `Must have at most ${plural(max, "entry")}`.replace("entrys", "entries");
      return issue.inclusive === false ? `Must be less than ${max}` : `Must be ${max} or less`;
    }
    case "invalid_type":
      // zod leaves the input out of its issues; its own wording says when nothing was given.
      if (issue.input === undefined && /received undefined/.test(issue.message)) return "Required";
      if (issue.expected === "number" || issue.expected === "int") return "Must be a number";
      if (issue.expected === "boolean") return "Must be true or false";
      if (issue.expected === "string") return "Must be text";
      if (issue.expected === "array") return "Must be a list";
      if (issue.expected === "object") return "Must be a set of keys and values";
      return `Must be a ${issue.expected}`;
    case "invalid_value":
      return `Must be one of ${quoteList(issue.values)}`;
    case "unrecognized_keys":
      return issue.keys.length === 1
        ? `'${issue.keys[0]}' is not a key this accepts: remove it or check its spelling`
        : `${quoteList(issue.keys)} are not keys this accepts: remove them or check their spelling`;
    case "invalid_format":
      return issue.format === "regex" ? "Has characters or a form this does not accept" : `Must be a valid ${issue.format}`;
    case "not_multiple_of":
      return `Must be a multiple of ${issue.divisor}`;
    default:
      return issue.message;
  }
}

/** The YAML parser's message for `code`, as a fix: what is wrong with the text at that line. */
export function plainYamlMessage(code: ErrorCode, message: string): string {
  switch (code) {
    case "MISSING_CHAR":
      return /without - indicator/.test(message)
        ? "This line is indented differently from the list items around it: line it up with the other '- ' items (use 2 spaces per level)"
        : `Something is missing here: ${message}`;
    case "BAD_INDENT":
      return "The indentation is off here: line this key up with the keys beside it (use 2 spaces per level)";
    case "TAB_AS_INDENT":
      return "Tabs are not allowed as indentation: indent with spaces";
    case "DUPLICATE_KEY":
      return "This key appears twice in the same block: keep one";
    case "BLOCK_AS_IMPLICIT_KEY":
    case "MULTILINE_IMPLICIT_KEY":
      return "A key here runs over more than one line: put 'key: value' on one line, or check the indentation above it";
    case "UNEXPECTED_TOKEN":
      return `Unexpected text here: check for a missing ':' after a key or a stray character (${message})`;
    case "BAD_SCALAR_START":
      return "A value cannot start with this character: put the value in quotes";
    default:
      return message;
  }
}
