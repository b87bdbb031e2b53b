import "server-only";
import { AppError } from "@/lib/errors";
import { SCOPES, scopeAllows, type Principal, type Scope } from "@/lib/auth/scopes";
import type { PipelineDefinition } from "@/lib/pipelines/definition";
import { findBuiltinPlugin } from "@/lib/plugins/builtin-plugins";
import { builtinJobs, isBuiltinJob } from "@/lib/plugins/builtin-jobs";

/**
 * Who may do what through pipelines. A pipeline step does the same work as a REST route, so it needs
 * the same scope: each built-in plugin declares it (`scope`), and the scope of a pipeline is the
 * highest of its steps'. Jobs and pipelines remember who last saved them and with which scope (the
 * owner); a run may do only what its owner, its pipeline's owner and the caller who started it may
 * all do. Saving is refused (403) when the saver could not run the result.
 */

/** Executables in the plugins volume were installed by whoever controls the host; running them is ordinary pipeline work. */
export const EXECUTABLE_PLUGIN_SCOPE: Scope = "write";

/** Rows saved before owners were kept, built-ins and files edited in the volume have no owner: they are the operator's. */
const UNOWNED_SCOPE: Scope = "admin";

export interface Owner {
  /** "token:ci", "user:alice"; null for the console itself (boot, the configuration) */
  owner: string | null;
  ownerScope: Scope | null;
}

/** The owner a save by `principal` records; null (the console itself) records no owner. */
export function ownerOf(principal: Principal | null): Owner {
  return principal ? { owner: `${principal.kind}:${principal.name}`, ownerScope: principal.scope } : { owner: null, ownerScope: null };
}

/** The scope a stored owner grants a run. */
export function ownerScope(stored: string | null | undefined): Scope {
  return (SCOPES as readonly string[]).includes(stored ?? "") ? (stored as Scope) : UNOWNED_SCOPE;
}

/** The lowest of some scopes: what every one of them allows. */
export function lowestScope(...scopes: Scope[]): Scope {
  return scopes.reduce((low, scope) => (scopeAllows(low, scope) ? scope : low), "admin" as Scope);
}

/** The scope a step's plugin needs. An unknown System.* plugin cannot run at all, so it needs nothing beyond a pipeline's usual write. */
export function pluginScope(plugin: string): Scope {
  return findBuiltinPlugin(plugin)?.scope ?? EXECUTABLE_PLUGIN_SCOPE;
}

export interface StepNeed {
  step: string;
  plugin: string;
  required_scope: Scope;
}

/** The steps of a pipeline that `granted` does not cover. */
export function stepsBeyond(definition: PipelineDefinition, granted: Scope): StepNeed[] {
  return definition.steps
    .map((step) => ({ step: step.name, plugin: step.plugin, required_scope: pluginScope(step.plugin) }))
    .filter((need) => !scopeAllows(granted, need.required_scope));
}

/**
 * Throws 403 insufficient_scope naming each step that `granted` does not cover, e.g. "Step 'prune'
 * (System.prune_backups) needs the 'admin' scope; token 'ci' has 'write'". `who` names the caller or
 * the owner in the message. Reads only.
 */
export function assertStepsAllowed(definition: PipelineDefinition, granted: Scope, who: string): void {
  const beyond = stepsBeyond(definition, granted);
  if (beyond.length === 0) return;
  const steps = beyond.map((need) => `step '${need.step}' (${need.plugin}) needs the '${need.required_scope}' scope`).join("; ");
  throw new AppError("insufficient_scope", `Pipeline '${definition.name}': ${steps}; ${who} has '${granted}'`, {
    details: { pipeline: definition.name, scope: granted, steps: beyond },
  });
}

/** How a principal is named in a refusal: "token 'ci'", "user 'alice'". */
export function describePrincipal(principal: Principal): string {
  return `${principal.kind} '${principal.name}'`;
}

/**
 * Built-in jobs and pipelines (system-*) drive backups, pruning and cleanup: only admin may create,
 * change, switch, re-point or delete them, whatever their steps. The console itself (null) may.
 * Throws 403 builtin_admin_only. Reads only.
 */
export function assertMayChangeBuiltin(kind: "job" | "pipeline", id: string, principal: Principal | null): void {
  if (!principal || principal.scope === "admin") return;
  const builtin = kind === "job" ? isBuiltinJob(id) : builtinJobs().some((job) => job.pipeline.name === id);
  if (!builtin) return;
  throw new AppError(
    "builtin_admin_only",
    `The built-in ${kind} '${id}' can be changed by admin only; ${describePrincipal(principal)} has '${principal.scope}'`,
    {
      details: { [kind]: id, required_scope: "admin", scope: principal.scope },
    },
  );
}
