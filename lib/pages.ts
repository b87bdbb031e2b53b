import "server-only";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { authenticate, authorize } from "@/lib/auth/request";
import { hasAnyUser, readSessionCookie } from "@/lib/auth/service";
import type { Principal, Scope } from "@/lib/auth/scopes";
import { isAppError } from "@/lib/errors";
import { pageHref } from "@/lib/pagination";
import { REQUESTED_PAGE_HEADER, signInHref } from "@/lib/sign-in-next";
import { ZodError } from "zod";

/**
 * The page-side adapter of the one enforcement point (lib/auth/request): every dashboard page calls
 * it itself, since a layout's check does not guard a page rendered on its own. Anonymous visitors go
 * to sign-in with the page they asked for (query included) as the way back, or to first-run setup
 * while no user exists; a short scope gets the forbidden page.
 */
export async function requirePagePrincipal(required: Scope = "read"): Promise<Principal> {
  const jar = await cookies();
  const sessionToken = readSessionCookie((name) => jar.get(name)?.value);
  const auth = sessionToken ? await authenticate({ authorization: null, sessionToken }) : null;
  if (!auth) redirect((await hasAnyUser()) ? signInHref((await headers()).get(REQUESTED_PAGE_HEADER)) : "/setup");
  try {
    return authorize(auth, required);
  } catch (error) {
    if (isAppError(error) && error.code === "forbidden") redirect("/forbidden");
    throw error;
  }
}

/**
 * Loads a list page at its link's cursor. A cursor this server cannot read (a truncated, stale or
 * overlong link: refused by the query schema `load` parses it with, or by the service decoding it)
 * sends the browser to the list's first page, filters kept, instead of failing the page.
 */
export async function listAtLinkCursor<T>(
  basePath: string,
  params: Record<string, string | undefined>,
  load: (cursor: string | undefined) => Promise<T>,
): Promise<T> {
  try {
    return await load(params.cursor);
  } catch (error) {
    const unreadable =
      (isAppError(error) && error.code === "invalid_cursor") || (error instanceof ZodError && error.issues.some((issue) => issue.path[0] === "cursor"));
    if (!(params.cursor && unreadable)) throw error;
  }
  redirect(pageHref(basePath, params, null));
}
