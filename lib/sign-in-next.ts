const THIS_SITE = "http://mimir.invalid";

/**
 * Where sign-in sends the browser afterwards (`/login?next=…`): only a page of this site, so a
 * crafted link cannot turn the sign-in page into a redirect elsewhere (`//host`, `/\host` and the
 * like resolve to another origin and are dropped).
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next?.startsWith("/")) return "/";
  let url: URL;
  try {
    url = new URL(next, THIS_SITE);
  } catch {
    return "/";
  }
  if (url.origin !== THIS_SITE || url.pathname === "/login" || url.pathname === "/setup") return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The sign-in page, with the way back to `location` (the page the session ended on). */
export function signInAgainHref(location: { pathname: string; search: string }): string {
  const back = safeNextPath(`${location.pathname}${location.search}`);
  return back === "/" ? "/login" : `/login?next=${encodeURIComponent(back)}`;
}
