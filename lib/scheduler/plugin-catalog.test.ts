import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDataRoot, type TestDataRoot } from "@/test/helpers/data-root";
import { createPipeline, validatePipelineText } from "@/lib/pipelines/service";
import { setStepChecker } from "@/lib/pipelines/step-checks";
import { builtinPluginInfos, checkStepPlugin, listPlugins } from "@/lib/scheduler/plugin-catalog";
import { builtinPluginNames } from "@/lib/plugins/builtin-plugins";

/** B6: the pipeline check knows the plugins that exist and the settings each built-in takes. */
let root: TestDataRoot;

beforeAll(() => {
  root = createTestDataRoot();
  // What boot does.
  setStepChecker(checkStepPlugin);
});
afterAll(() => {
  setStepChecker(null);
  root.cleanup();
});

const webhookStep = (config: string) => `name: ping\nsteps:\n  - name: call\n    plugin: System.webhook\n    config: ${config}\n`;

describe("the pipeline check against the plugins that exist", () => {
  test("a misspelled built-in is refused with the nearest name and its line", () => {
    const result = validatePipelineText("name: ping\nsteps:\n  - name: call\n    plugin: Sytem.webhook\n");
    expect(result.valid).toBe(false);
    expect(result.errors).toEqual([
      expect.objectContaining({ line: 4, path: "steps.0.plugin", message: expect.stringContaining("did you mean 'System.webhook'") }),
    ]);
  });

  test("a webhook step without url and with an unknown key gets one problem for each", () => {
    const result = validatePipelineText(webhookStep("{retries: 3}"));
    expect(result.valid).toBe(false);
    expect(result.errors.map((error) => [error.path, error.message])).toEqual(
      expect.arrayContaining([
        ["steps.0.config.url", expect.stringMatching(/System\.webhook: url: required/)],
        ["steps.0.config", expect.stringMatching(/unknown setting 'retries'/)],
      ]),
    );
    expect(result.errors.every((error) => error.line !== null)).toBe(true);
  });

  test("a valid webhook step and a known built-in pass", () => {
    expect(validatePipelineText(webhookStep("{url: 'http://127.0.0.1:9/health', method: GET}"))).toEqual({ valid: true, errors: [] });
    expect(validatePipelineText("name: v\nsteps:\n  - {name: v, plugin: System.vacuum}\n")).toEqual({ valid: true, errors: [] });
  });

  test("an executable plugin passes once it is in the plugins volume, and not before", () => {
    const text = "name: fetch\nsteps:\n  - {name: get, plugin: Input.http}\n";
    expect(validatePipelineText(text).errors[0]?.message).toMatch(/plugin 'Input.http' not found/);
    fs.writeFileSync(path.join(root.config.paths.plugins, "Input.http"), "#!/bin/sh\ncat >/dev/null; echo '{}'\n", { mode: 0o700 });
    expect(validatePipelineText(text)).toEqual({ valid: true, errors: [] });
    expect(listPlugins().find((plugin) => plugin.name === "Input.http")).toMatchObject({ kind: "executable" });
  });

  test("saving refuses what the check refuses, and stores nothing", async () => {
    await expect(createPipeline("name: typo\nsteps:\n  - {name: call, plugin: Sytem.webhook}\n", null)).rejects.toMatchObject({ code: "invalid_pipeline" });
    expect(fs.existsSync(path.join(root.config.paths.pipelines, "typo.yaml"))).toBe(false);
  });
});

describe("the built-in plugins' help", () => {
  test("lists every built-in with a description and the webhook's settings from its schema", () => {
    const infos = builtinPluginInfos();
    expect(infos.map((info) => info.name).sort()).toEqual(builtinPluginNames());
    expect(infos.every((info) => (info.description ?? "").length > 10)).toBe(true);
    const webhook = infos.find((info) => info.name === "System.webhook")!;
    expect(webhook.settings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "url", required: true }),
        expect.objectContaining({ name: "method", required: false, default: "POST", type: '"POST" | "PUT" | "GET"' }),
      ]),
    );
  });
});
