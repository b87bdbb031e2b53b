import "server-only";
import type { ZodType } from "zod";
import type { Scope } from "@/lib/auth/scopes";
import { processState } from "@/lib/process-state";

/** What a step of a running pipeline hands to a plugin. */
export interface PluginRunContext {
  executionId: string;
  jobId: string;
  pipeline: string;
  stepName: string;
  /** aborted when the run is cancelled or the step times out */
  signal: AbortSignal;
  /** appends a line to this run's log file under logs/ */
  log: (line: string) => void;
}

/**
 * A `System.*` plugin: work the console itself does on a schedule (backup, prune, retention
 * cleanup, vacuum, storage sample, webhook). Each capability defines its plugin beside its service
 * (lib/<capability>/plugin.ts) and adds it to BUILTIN_PLUGINS in lib/builtins.ts, which boot registers
 * here: the scheduler looks plugins up by name and never imports a capability.
 */
export interface BuiltinPlugin<C = unknown> {
  name: `System.${string}`;
  description: string;
  /**
   * The scope a caller needs to put this step in a pipeline and to run it (lib/plugins/access.ts):
   * the same as the REST route that does the same work, or admin for work that deletes or can fill the disk.
   */
  scope: Scope;
  /** validates the step's `config:` before the run starts; a bad config fails the step, each problem in plain words (lib/issue-text.ts) */
  configSchema: ZodType<C>;
  /** returns the step's JSON output (summarised into job_executions.steps) */
  run(config: C, context: PluginRunContext): Promise<Record<string, unknown>>;
}

// Filled by boot (lib/builtins.ts), read by the runner in whichever bundle runs a step.
const registry = () => processState("builtinPlugins", () => new Map<string, BuiltinPlugin>());

/**
 * Makes plugins runnable by name. A plugin's own config type is erased here: the runner validates a
 * step's config with the plugin's configSchema before it calls run, so run only ever sees its type.
 */
export function registerBuiltinPlugins(plugins: readonly BuiltinPlugin[]): void {
  for (const plugin of plugins) registry().set(plugin.name, plugin);
}

/** The registered plugin of that name, or null. */
export function findBuiltinPlugin(name: string): BuiltinPlugin | null {
  return registry().get(name) ?? null;
}

/** Every registered plugin, in registration order. */
export function builtinPlugins(): BuiltinPlugin[] {
  return [...registry().values()];
}

/** The names of the registered plugins, sorted (for error messages). */
export function builtinPluginNames(): string[] {
  return [...registry().keys()].sort();
}
