import "server-only";
import { toAppError } from "@/lib/to-app-error";
import { cookies, headers } from "next/headers";
import { unstable_rethrow } from "next/navigation";
import { z, type ZodType } from "zod";
import { authenticate, authorize, assertSameOrigin, clientAddress, type Access } from "@/lib/auth/request";
import { SESSION_COOKIE, verifyUserPassword } from "@/lib/auth/service";
import type { Principal } from "@/lib/auth/scopes";
import { REAUTH_FIELD } from "@/lib/auth/reauth";
import { recordAudit } from "@/lib/audit/service";
import { getLogger } from "@/lib/log/logger";
import { plainIssueMessage } from "@/lib/issue-text";

export type ActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: string; message: string; fields?: Record<string, string[]> } };

export interface ActionOptions<I> {
  /**
   * Destructive actions (restore, reset, delete, token and user changes): the caller must send its
   * password again in the `reauth_password` field, checked after the input validates and before the
   * action runs. The client side is
   * `<ConfirmDialog>` in app/_components/confirm-dialog.tsx, which asks for it.
   */
  reauth?: boolean;
  /** The audit log's name for this action ("token.create"): required, so no row is anonymous. */
  audit: string;
  /**
   * The action changes nothing (a preview, a dry run, a check run while typing): only its refused
   * calls are recorded, since the log is of changes and of attempts that were turned away.
   */
  readOnly?: boolean;
  /** What the action acted on, for the audit log (a token id, a user name). */
  target?: (input: I) => string | null;
}

/** The re-authentication password: taken out of the input before the action's schema sees it, never echoed. */
const reauthInput = z.object({ password: z.string().min(1, "enter your password to confirm").max(1024) });

/**
 * Wraps a server action: checks Origin (Next.js does too, but a missing or `null` Origin must be
 * refused as well), authenticates and authorises through the same code as route handlers, asks for
 * the password again on `reauth` actions, validates input with zod (every field error returned, no
 * value echoed back), writes an audit row for every call by an identified caller, and turns errors
 * into a result.
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
    let ip: string | null = null;
    let result: ActionResult<T>;
    try {
      const requestHeaders = await headers();
      ip = clientAddress(requestHeaders);
      assertSameOrigin(requestHeaders, `http://${requestHeaders.get("host") ?? "localhost"}/`);
      if (access !== "public") {
        const sessionToken = (await cookies()).get(SESSION_COOKIE)?.value ?? null;
        principal = authorize(sessionToken ? await authenticate({ authorization: null, sessionToken }) : null, access);
      }
      const raw: Record<string, unknown> = { ...(input instanceof FormData ? Object.fromEntries(input) : (input as Record<string, unknown>)) };
      const confirmation = options.reauth ? reauthInput.safeParse({ password: raw[REAUTH_FIELD] }) : null;
      delete raw[REAUTH_FIELD];
      const parsed = schema.safeParse(raw);
      if (confirmation && !confirmation.success) {
        result = invalid({ [REAUTH_FIELD]: ["enter your password to confirm"] });
      } else if (!parsed.success) {
        result = invalid(fieldErrors(parsed.error));
      } else {
        parsedInput = parsed.data;
        if (confirmation?.success) {
          if (principal?.kind !== "user") throw new Error("reauth actions need a signed-in user");
          await verifyUserPassword(principal.id, confirmation.data.password, { ip, userAgent: requestHeaders.get("user-agent") });
        }
        result = { ok: true, data: await fn(parsed.data, principal) };
      }
    } catch (error) {
      unstable_rethrow(error);
      const appError = toAppError(error);
      result = { ok: false, error: { code: appError.code, message: appError.message } };
    }
    if (principal && access !== "public") await auditAction(options, parsedInput, principal, result, ip);
    return result;
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

async function auditAction<I, T>(options: ActionOptions<I>, input: I | undefined, principal: Principal, result: ActionResult<T>, ip: string | null) {
  const code = result.ok ? null : result.error.code;
  const denied = code !== null && ["unauthorized", "forbidden", "csrf_rejected", "reauth_failed", "rate_limited"].includes(code);
  if (options.readOnly && !denied) return;
  await recordAudit({
    principal,
    action: options.audit,
    target: input !== undefined && options.target ? options.target(input) : null,
    result: result.ok ? "ok" : denied ? "denied" : "failed",
    ip,
    details: code ? { error: code } : undefined,
  }).catch((error) => getLogger().error("audit write failed", { error }));
}
