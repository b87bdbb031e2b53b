/**
 * The Content-Security-Policy of every page and API answer. Scripts run only with this response's
 * nonce (Next.js reads it from the request's policy header and puts it on its own script tags);
 * 'strict-dynamic' lets those scripts load the app's chunks. An injected <script> without the nonce
 * is refused. Styles keep 'unsafe-inline': React style attributes and the chart library need it,
 * and a style cannot run code.
 */
export function contentSecurityPolicy(nonce: string, { development = false } = {}): string {
  return [
    "default-src 'self'",
    // React's development build evaluates code to rebuild server stacks; the production build does not.
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
  ].join("; ");
}

/**
 * The policy of a JSON or text answer (the API, /health, /metrics): nothing in it may run or be framed.
 * It needs no nonce, so it is one constant and the proxy leaves the request as it came.
 */
export const DATA_ANSWER_POLICY = ["default-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'none'"].join("; ");

/** 128 random bits, base64: unguessable, and fresh for each response. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
