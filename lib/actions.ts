import "server-only";
import { toAppError } from "@/lib/to-app-error";
import { cookies, headers } from "next/headers";
import { unstable_rethrow } from "next/navigation";
import { z, type ZodType } from "zod";
import { authenticate, authorize, assertSameOrigin, type Access } from "@/lib/auth/request";
import { clientAddress } from "@/lib/client-address";
import { readSessionCookie, verifyUserPassword } from "@/lib/auth/service";
import type { Principal } from "@/lib/auth/scopes";
import { REAUTH_FIELD } from "@/lib/auth/reauth";
import { enterWrite, type AdmittedWrite } from "@/lib/db/write-freeze";
import { recordAudit, recordRefusal } from "@/lib/audit/service";
import { actingFor, type AuditActor } from "@/lib/audit/context";
import type { AuditAction } from "@/lib/audit/actions";
import { getLogger } from "@/lib/log/logger";
import { plainIssueMessage } from "@/lib/issue-text";

export type ActionResult<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string; fields?: Record<string, string[]> } };

export interface ActionOptions<I> {
  /**
   * Destructive actions (restore, reset, delete, token and user changes): the caller must send its
   * password again in the `reauth_password` field, checked after the input validates and before the
   * action runs. The client side is
   * `<ConfirmDialog>` in app/_components/confirm-dialog.tsx, which asks for it.
   */
  reauth?: boolean;
  /** The audit log's name for this action ("token.create"): required, so no row is anonymous. */
  audit: AuditAction;
  /**
   * The action changes nothing (a preview, a dry run, a check run while typing): only its refused
   * calls are recorded, since the log is of changes and of attempts that were turned away.
   */
  readOnly?: boolean;
  /** Still allowed while writes are frozen for a switch to PostgreSQL (cancelling that migration); every other action that is not read-only, sign-in included, is refused with `migrating` then. */
  whileMigrating?: boolean;
  /** What the action acted on, for the audit log (a token id, a user name). */
  target?: (input: I) => string | null;
}

/** The re-authentication password: taken out of the input before the action's schema sees it, never echoed. */
const reauthInput = z.object({ password: z.string().min(1, "enter your password to confirm").max(1024) });

/**
 * Wraps a server action: checks Origin (Next.js does too, but a missing or `null` Origin must be
 * refused as well), authenticates and authorises through the same code as route handlers, asks for
 * the password again on `reauth` actions, validates input with zod (every field error returned, no
 * value echoed back), sees that every call by an identified caller is on the audit record (the
 * capability's own row, else one here; refusals folded per caller and minute), and turns errors into a result.
 */
export function defineAction<S extends ZodType, T>(
  access: Access,
  schema: S,
  fn: (input: z.output<S>, principal: Principal | null) => Promise<T>,
  options: ActionOptions<z.output<S>>,
) {
  return async (input: (z.input<S> & { [REAUTH_FIELD]?: string }) | FormData): Promise<ActionResult<T>> => {
    let principal: Principal | null = null;
    let parsedInput: z.output<S> | undefined;
    const actor: AuditActor = { principal: null, ip: null, open: true, recorded: false };
    // A changing action is one admitted write (lib/db/write-freeze.ts): refused with `migrating` while
    // writes are frozen for a switch to PostgreSQL; a freeze that starts meanwhile waits until it and its audit row are written.
    let admitted: AdmittedWrite | null = null;
    // The pass ends however this ends, a redirect or notFound rethrown from inside included: one left
    // open would keep every later freeze waiting for it.
    try {
      const result = await actingFor(actor, async (): Promise<ActionResult<T>> => {
        try {
          const requestHeaders = await headers();
          actor.ip = clientAddress(requestHeaders);
          assertSameOrigin(requestHeaders, `http://${requestHeaders.get("host") ?? "localhost"}/`);
          if (access !== "public") {
            const jar = await cookies();
            const sessionToken = readSessionCookie((name) => jar.get(name)?.value);
            const auth = sessionToken ? await authenticate({ authorization: null, sessionToken }) : null;
            actor.principal = auth?.principal ?? null;
            principal = authorize(auth, access);
          }
          // Sign-in and setup too: a session written to the SQLite file now would be gone after the switch.
          if (!options.readOnly && !options.whileMigrating) admitted = enterWrite();
          const run = async (): Promise<ActionResult<T>> => {
            const raw: Record<string, unknown> = { ...(input instanceof FormData ? Object.fromEntries(input) : (input as Record<string, unknown>)) };
            const confirmation = options.reauth ? reauthInput.safeParse({ password: raw[REAUTH_FIELD] }) : null;
            delete raw[REAUTH_FIELD];
            const parsed = schema.safeParse(raw);
            if (confirmation && !confirmation.success) return invalid({ [REAUTH_FIELD]: ["enter your password to confirm"] });
            if (!parsed.success) return invalid(fieldErrors(parsed.error));
            parsedInput = parsed.data;
            if (confirmation?.success) {
              if (principal?.kind !== "user") throw new Error("reauth actions need a signed-in user");
              await verifyUserPassword(principal.id, confirmation.data.password, { ip: actor.ip, userAgent: requestHeaders.get("user-agent") });
            }
            return { ok: true, data: await fn(parsed.data, principal) };
          };
          return await (admitted ? admitted.run(run) : run());
        } catch (error) {
          unstable_rethrow(error);
          const appError = toAppError(error);
          return { ok: false, error: { code: appError.code, message: appError.message } };
        }
      });
      const write = admitted as AdmittedWrite | null;
      if (actor.principal && access !== "public") {
        const audit = () => auditAction(options, parsedInput, actor.principal!, actor, result);
        await (write ? write.run(audit) : audit());
      }
      return result;
    } finally {
      (admitted as AdmittedWrite | null)?.end();
    }
  };
}

/** Every problem keyed by the full path of its field ("persistence.retention_days"), so a form can put it beside that field. */
function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const issue of error.issues) (fields[issue.path.join(".") || "input"] ??= []).push(plainIssueMessage(issue));
  return fields;
}

function invalid(fields: Record<string, string[]>): { ok: false; error: { code: string; message: string; fields: Record<string, string[]> } } {
  return { ok: false, error: { code: "invalid_input", message: "Some fields are not valid", fields } };
}

/**
 * The action's audit row when the capability did not record the change itself (one row per change):
 * a change under the action's name; a refusal or failure through recordRefusal, which folds a
 * caller's repeats into one row a minute. A read-only action records only its refusals.
 */
async function auditAction<I, T>(options: ActionOptions<I>, input: I | undefined, principal: Principal, actor: AuditActor, result: ActionResult<T>) {
  if (actor.recorded) return;
  const code = result.ok ? null : result.error.code;
  const denied = code !== null && ["unauthorized", "forbidden", "csrf_rejected", "reauth_failed", "rate_limited"].includes(code);
  if (options.readOnly && !denied) return;
  const entry = {
    principal,
    action: options.audit,
    target: input !== undefined && options.target ? options.target(input) : null,
    ip: actor.ip,
    details: code ? { error: code } : undefined,
  };
  await (result.ok ? recordAudit({ ...entry, result: "ok" }) : recordRefusal({ ...entry, result: denied ? "denied" : "failed" })).catch((error) =>
    getLogger().error("audit write failed", { error }),
  );
}
