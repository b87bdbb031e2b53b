import "server-only";
import fs from "node:fs";
import { z } from "zod";
import { getConfig } from "@/lib/config/service";
import type { PipelineStep } from "@/lib/pipelines/definition";
import type { StepProblem } from "@/lib/pipelines/step-checks";
import { builtinPluginNames, builtinPlugins, findBuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import { PluginError, resolvePluginExecutable } from "@/lib/scheduler/executable-plugin";

/** One setting of a built-in plugin's `config:`, as the editor's help and the README list it. */
export interface PluginSetting {
  name: string;
  type: string;
  required: boolean;
  default: unknown;
  description: string | null;
}

export interface PluginInfo {
  name: string;
  kind: "built-in" | "executable";
  description: string | null;
  /** built-ins: every key their `config:` takes (anything else is refused); executables: null (they read any JSON) */
  settings: PluginSetting[] | null;
}

/** How far a misspelling may be from a known name to be offered as "did you mean". */
const MAX_SUGGESTION_DISTANCE = 3;
/** A pipelines volume with more executables than this is listed only this far (the editor's help). */
const MAX_LISTED_EXECUTABLES = 200;

/** Each built-in's settings, read from its zod schema (so the help cannot drift from what a run accepts). */
export function builtinPluginInfos(): PluginInfo[] {
  return builtinPlugins()
    .map((plugin) => ({ name: plugin.name, kind: "built-in" as const, description: plugin.description, settings: settingsOf(plugin.configSchema) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function settingsOf(schema: z.ZodType): PluginSetting[] {
  const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as {
    properties?: Record<string, { type?: string; enum?: unknown[]; default?: unknown; description?: string; format?: string }>;
    required?: string[];
  };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    type: property.enum ? property.enum.map((value) => JSON.stringify(value)).join(" | ") : property.format === "uri" ? "URL" : (property.type ?? "any"),
    required: (json.required ?? []).includes(name) && property.default === undefined,
    default: property.default,
    description: property.description ?? null,
  }));
}

/** The built-ins and the executables in the plugins volume, by name. Reads the plugins folder. */
export function listPlugins(): PluginInfo[] {
  return [...builtinPluginInfos(), ...listExecutablePlugins()];
}

function listExecutablePlugins(): PluginInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(getConfig().paths.plugins).sort();
  } catch {
    return [];
  }
  const found: PluginInfo[] = [];
  for (const name of names) {
    if (found.length >= MAX_LISTED_EXECUTABLES) break;
    if (name.startsWith(".")) continue;
    try {
      resolvePluginExecutable(name);
      found.push({ name, kind: "executable", description: null, settings: null });
    } catch {
      // not a usable plugin (a folder, a file without the execute bit): the step check says why when one is named
    }
  }
  return found;
}

/**
 * The problems a run of this step would meet before doing anything: a plugin that does not exist
 * (with the nearest known name), or a built-in's `config:` its schema refuses (each key named).
 * Reads the plugins folder for executables.
 */
export function checkStepPlugin(step: PipelineStep): StepProblem[] {
  if (step.plugin.startsWith("System.")) {
    const plugin = findBuiltinPlugin(step.plugin);
    if (!plugin) {
      return [
        { path: ["plugin"], message: `There is no built-in plugin '${step.plugin}'${suggestion(step.plugin)}; built-ins: ${builtinPluginNames().join(", ")}` },
      ];
    }
    const parsed = plugin.configSchema.safeParse(step.config ?? {});
    if (parsed.success) return [];
    return parsed.error.issues.map((issue) => ({
      path: ["config", ...issue.path.map((key) => (typeof key === "symbol" ? String(key) : key))],
      message: `${step.plugin}: ${describeIssue(issue)}`,
    }));
  }
  try {
    resolvePluginExecutable(step.plugin);
    return [];
  } catch (error) {
    if (!(error instanceof PluginError)) throw error;
    return [{ path: ["plugin"], message: `${error.message}${suggestion(step.plugin)}` }];
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  if (issue.code === "unrecognized_keys") return `unknown setting${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => `'${key}'`).join(", ")}`;
  if (issue.code === "invalid_type" && issue.input === undefined) return `${where}required`;
  return `${where}${issue.message}`;
}

function suggestion(name: string): string {
  let best: { name: string; distance: number } | null = null;
  for (const plugin of listPlugins()) {
    const distance = editDistance(name.toLowerCase(), plugin.name.toLowerCase());
    if (distance <= MAX_SUGGESTION_DISTANCE && (!best || distance < best.distance)) best = { name: plugin.name, distance };
  }
  return best ? ` (did you mean '${best.name}'?)` : "";
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
