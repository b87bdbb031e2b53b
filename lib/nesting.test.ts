import { expect, test } from "vitest";
import { jsonNestingExceeds, MAX_NESTING_DEPTH, yamlNestingExceeds } from "@/lib/nesting";

const nestedJson = (depth: number) => `{"context": ${"[".repeat(depth - 1)}${"]".repeat(depth - 1)}}`;

test("JSON: counts arrays and objects, not brackets inside strings", () => {
  expect(jsonNestingExceeds(nestedJson(MAX_NESTING_DEPTH))).toBeNull();
  expect(jsonNestingExceeds(nestedJson(MAX_NESTING_DEPTH + 1))).toBe(MAX_NESTING_DEPTH + 11);
  expect(jsonNestingExceeds(JSON.stringify({ a: "[".repeat(500), b: '\\"[[[' }))).toBeNull();
  expect(jsonNestingExceeds(nestedJson(200_000))).not.toBeNull();
});

const REAL_PIPELINE = `# nightly export
name: nightly-export
description: "Export [all] tables: {json}"
steps:
  - name: export
    plugin: System.webhook
    config:
      url: https://hooks.example/x?a=[1]
      headers: { Authorization: "Bearer [x]", X-Tags: '[a, b]' }
      body: |
        [[[[ {{{{ not YAML, a literal block
          ]]]]
      matrix: [[1, 2], [3, [4, {a: [5]}]]]
    output: result  # [[[[ a comment
  - name: nested lists
    plugin: System.noop
    config:
      list:
        - - - a
          - b
`;

test("YAML: a real pipeline, with brackets in quotes, comments, plain scalars and block scalars, passes", () => {
  expect(yamlNestingExceeds(REAL_PIPELINE, 6)).toBeNull();
});

test.each([
  ["flow sequences", (n: number) => `name: deep\nsteps: ${"[".repeat(n)}${"]".repeat(n)}\n`],
  ["flow mappings", (n: number) => `name: deep\nsteps: ${"{a: ".repeat(n)}${"}".repeat(n)}\n`],
  ["compact block sequences", (n: number) => `name: deep\nsteps:\n${"- ".repeat(n)}x\n`],
  ["explicit keys", (n: number) => `${"? ".repeat(n)}x\n`],
  ["flow inside a compact sequence", (n: number) => `steps:\n${"- ".repeat(n / 2)}${"[".repeat(n / 2)}${"]".repeat(n / 2)}\n`],
])("YAML: %s deeper than the limit are found, and found early", (_label, build) => {
  expect(yamlNestingExceeds(build(MAX_NESTING_DEPTH))).toBeNull();
  expect(yamlNestingExceeds(build(MAX_NESTING_DEPTH + 2))).not.toBeNull();
  const huge = build(400_000);
  expect(yamlNestingExceeds(huge)).toBeLessThan(1000);
});
