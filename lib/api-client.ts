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
    throw errorFromEnvelope(envelope, response.status);
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

/**
 * Uploads a file as the raw body (fetch reports no upload progress, XMLHttpRequest does) and reads
 * the answer like apiFetch. `onProgress` gets bytes sent of the file's size.
 */
export function apiUpload<T>(
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
  contentType = "application/octet-stream",
): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.withCredentials = true;
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("Content-Type", contentType);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onerror = () => reject(new AppError("internal", "The upload was interrupted (network error)"));
    request.onload = () => {
      const body = request.responseText ? safeJson(request.responseText) : null;
      if (request.status >= 200 && request.status < 300) return resolve(body as T);
      const envelope = body as ErrorEnvelope | null;
      reject(errorFromEnvelope(envelope, request.status));
    };
    request.send(file);
  });
}

/** The server's AppError rebuilt from its envelope; a code this build does not know is `internal`. */
function errorFromEnvelope(envelope: ErrorEnvelope | null, status: number): AppError {
  const code = envelope?.error?.code;
  return new AppError(code && isErrorCode(code) ? code : "internal", envelope?.error?.message ?? `HTTP ${status}`, { details: envelope?.error?.details });
}
