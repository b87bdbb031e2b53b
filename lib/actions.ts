import "server-only";
import { cookies, headers } from "next/headers";
import { unstable_rethrow } from "next/navigation";
import { z, type ZodType } from "zod";
import { authenticate, authorize, assertSameOrigin, type Access } from "@/lib/auth/request";
import { SESSION_COOKIE } from "@/lib/auth/service";
import type { Principal } from "@/lib/auth/scopes";
import { toAppError } from "@/lib/http";

export type ActionResult<T> =
  | { ok: true; data: T }
  | { ok: false; error: { code: string; message: string; fields?: Record<string, string[]> } };

/**
 * Wraps a server action: checks Origin (Next.js does too, but a missing Origin must be refused as
 * well), authenticates and authorises through the same code as route handlers, validates input
 * with zod (every field error returned, no value echoed back), and turns errors into a result.
 */
export function defineAction<S extends ZodType, T>(
  access: Access,
  schema: S,
  fn: (input: z.output<S>, principal: Principal | null) => Promise<T>,
) {
  return async (input: z.input<S> | FormData): Promise<ActionResult<T>> => {
    try {
      const requestHeaders = await headers();
      assertSameOrigin(requestHeaders, `http://${requestHeaders.get("host") ?? "localhost"}/`);
      let principal: Principal | null = null;
      if (access !== "public") {
        const sessionToken = (await cookies()).get(SESSION_COOKIE)?.value ?? null;
        principal = authorize(sessionToken ? await authenticate({ authorization: null, sessionToken }) : null, access);
      }
      const raw = input instanceof FormData ? Object.fromEntries(input) : input;
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const flat = z.flattenError(parsed.error);
        return {
          ok: false,
          error: { code: "invalid_input", message: "Some fields are not valid", fields: flat.fieldErrors as Record<string, string[]> },
        };
      }
      return { ok: true, data: await fn(parsed.data, principal) };
    } catch (error) {
      unstable_rethrow(error);
      const appError = toAppError(error);
      return { ok: false, error: { code: appError.code, message: appError.message } };
    }
  };
}
