import { AppError, isErrorCode, type ErrorEnvelope } from "@/lib/errors";

/**
 * Browser fetch for the product's own API: sends the session cookie, parses JSON, and rebuilds the
 * server's AppError from the envelope so callers branch on `error.code`, never on message text.
 */
export async function apiFetch<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, headers, ...rest } = init;
  const response = await fetch(path, {
    credentials: "same-origin",
    ...rest,
    headers: { Accept: "application/json", ...(json === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    body: json === undefined ? rest.body : JSON.stringify(json),
  });
  const text = await response.text();
  const body = text ? safeJson(text) : null;
  if (!response.ok) {
    const envelope = body as ErrorEnvelope | null;
    const code = envelope?.error?.code;
    throw new AppError(code && isErrorCode(code) ? code : "internal", envelope?.error?.message ?? `HTTP ${response.status}`, { details: envelope?.error?.details });
  }
  return body as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: { code: "internal", message: text.slice(0, 200) } };
  }
}
