import { describe, expect, test } from "vitest";
import { parsePipelineText } from "@/lib/pipelines/definition";

describe("parsePipelineText", () => {
  test("accepts Mimir's pipeline format, JSON as well as YAML, and bundles", () => {
    const yaml = "name: sync\ndescription: d\nsteps:\n  - name: fetch\n    plugin: Input.http\n    config: {url: x}\n    output: raw\n";
    expect(parsePipelineText(yaml)).toMatchObject({ ok: true, pipelines: [{ name: "sync", steps: [{ plugin: "Input.http", output: "raw" }] }] });
    expect(parsePipelineText('{"name":"w","steps":[{"name":"s","plugin":"AI.summary","config":{}}]}')).toMatchObject({ ok: true });
    const bundle = "pipelines:\n  - name: a\n    steps: [{name: s, plugin: P}]\n  - name: b\n    steps: [{name: s, plugin: P}]\n";
    expect(parsePipelineText(bundle)).toMatchObject({ ok: true, pipelines: [{ name: "a" }, { name: "b" }] });
  });

  test("reports a YAML syntax error with its line and column", () => {
    const result = parsePipelineText("name: x\nsteps:\n  - name: a\n   plugin: [oops\n");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues[0]!.line).toBeGreaterThanOrEqual(3);
    expect(result.issues[0]!.column).toBeGreaterThan(0);
  });

  test("reports every schema problem at the node it concerns", () => {
    const text = "name: ../evil\nsteps:\n  - name: a\n    plugin: 42\n  - plugin: P\n";
    const result = parsePipelineText(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const byPath = Object.fromEntries(result.issues.map((issue) => [issue.path, issue]));
    expect(byPath["name"]).toMatchObject({ line: 1, column: 7 });
    expect(byPath["steps.0.plugin"]).toMatchObject({ line: 4, column: 13 });
    expect(byPath["steps.1.name"]).toMatchObject({ line: 5 });
  });

  test.each([
    ["", "empty"],
    ["name: x\n", "steps"],
    ["name: x\nsteps: []\n", "at least one step"],
  ])("refuses %j", (text, fragment) => {
    const result = parsePipelineText(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((issue) => `${issue.path} ${issue.message}`).join(" ")).toContain(fragment);
  });

  // Findings 7 and 13 of the security review: a viewer's live check used to hold the main thread for
  // seconds on ~1 MB of `[[[[`, and an alias bomb escaped as a 500.
  test.each([
    ["nested flow collections", `name: deep\nsteps: ${"[".repeat(60_000)}${"]".repeat(60_000)}\n`],
    ["nested compact sequences", `name: deep\nsteps:\n${"- ".repeat(60_000)}x\n`],
  ])("refuses %s before parsing, with the place", (_label, text) => {
    const result = parsePipelineText(text);
    expect(result).toEqual({
      ok: false,
      issues: [expect.objectContaining({ line: expect.any(Number), column: expect.any(Number), message: expect.stringContaining("more than 64 levels deep") })],
    });
  });

  test("refuses an alias bomb as a problem of the text, not a crash", () => {
    const levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i += 1) levels.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(", ")}]`);
    const result = parsePipelineText(`name: bomb\nsteps: []\n${levels.join("\n")}\n`);
    expect(result).toEqual({ ok: false, issues: [expect.objectContaining({ message: expect.stringContaining("aliases") })] });
  });
});
