const THIS_SITE = "http://mimir.invalid";

/**
 * The page a request asked for (path and query), set by proxy.ts on every page request so a server
 * component that sends an anonymous visitor to sign in can name the way back. Overwritten there, so a
 * client cannot choose it, and checked by safeNextPath all the same.
 */
export const REQUESTED_PAGE_HEADER = "x-mimir-requested-page";

/**
 * A path whose first segment is not empty: one `/`, then anything but `/` or `\` (or nothing).
 * `//host` and `/\host` are read by browsers as another origin.
 */
const SAME_ORIGIN_PATH = /^\/(?![/\\])/;

/**
 * Where sign-in sends the browser afterwards (`/login?next=…`): only a page of this site, so a
 * crafted link cannot turn the sign-in page into a redirect elsewhere. The value is resolved the way
 * a browser would (tabs and newlines dropped, `\` read as `/`, `.`, `..`, `%2e` segments removed)
 * and that normalised form is what is returned and checked: `/.//host` normalises to `//host`, so
 * checking the raw text is not enough.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next?.startsWith("/")) return "/";
  let url: URL;
  try {
    url = new URL(next, THIS_SITE);
  } catch {
    return "/";
  }
  if (url.origin !== THIS_SITE || !SAME_ORIGIN_PATH.test(url.pathname)) return "/";
  if (url.pathname === "/login" || url.pathname === "/setup") return "/";
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The sign-in page, with the way back to `page` (path and query) when it is a page of this site. */
export function signInHref(page: string | null | undefined): string {
  const back = safeNextPath(page);
  return back === "/" ? "/login" : `/login?next=${encodeURIComponent(back)}`;
}

/** The sign-in page, with the way back to `location` (the page the session ended on). */
export function signInAgainHref(location: { pathname: string; search: string }): string {
  return signInHref(`${location.pathname}${location.search}`);
}
