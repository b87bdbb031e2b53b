import { describe, expect, test } from "vitest";
import { z } from "zod";
import { plainIssueMessage } from "@/lib/issue-text";
import { parsePipelineText } from "@/lib/pipelines/definition";

const messageOf = (schema: z.ZodType, value: unknown) => {
  const result = schema.safeParse(value);
  if (result.success) throw new Error("expected a problem");
  return plainIssueMessage(result.error.issues[0]!);
};

describe("validation problems in plain words (B15)", () => {
  test.each([
    ["a negative retention", z.coerce.number().int().min(0), -3, "Must be 0 or more"],
    ["zero where it must be positive", z.coerce.number().int().positive(), 0, "Must be more than 0"],
    ["too large", z.number().max(100), 101, "Must be 100 or less"],
    ["an empty name", z.string().min(1), "", "Must not be empty"],
    ["a short password", z.string().min(12), "short", "Must be at least 12 characters"],
    ["words for a number", z.number(), "ten", "Must be a number"],
    ["a missing field", z.object({ url: z.string() }), {}, "Required"],
    ["an unknown choice", z.enum(["GET", "POST"]), "PUT", "Must be one of 'GET', 'POST'"],
    ["an unknown key", z.strictObject({ url: z.string() }), { url: "x", retries: 3 }, "'retries' is not a key this accepts: remove it or check its spelling"],
  ])("%s", (_name, schema, value, expected) => {
    expect(messageOf(schema, value)).toBe(expected);
  });

  test("a message a schema wrote itself is kept", () => {
    expect(messageOf(z.number().min(0, "a ratio: 0.1 is 10 %"), -1)).toBe("a ratio: 0.1 is 10 %");
  });

  test("never the developer wording", () => {
    const text = [messageOf(z.number().min(0), -1), messageOf(z.strictObject({}), { a: 1 })].join(" ");
    expect(text).not.toMatch(/Too small|expected number|>=|Unrecognized key/);
  });

  test("a YAML list item indented off its siblings says what to do, not 'without - indicator'", () => {
    const text = "name: hello\nsteps:\n  - name: one\n    plugin: System.webhook\n   - name: two\n    plugin: System.webhook\n";
    const result = parsePipelineText(text);
    expect(result.ok).toBe(false);
    const messages = result.ok ? [] : result.issues.map((issue) => issue.message);
    expect(messages.join("\n")).not.toMatch(/indicator/);
    expect(messages.join("\n")).toMatch(/indent/i);
  });

  test("an unknown key in a pipeline names the key and the fix", () => {
    const result = parsePipelineText("name: hello\ncolour: blue\nsteps:\n  - name: one\n    plugin: System.webhook\n");
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues[0]!.message).toContain("'colour' is not a key this accepts");
  });
});
