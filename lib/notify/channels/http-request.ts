/** What an HTTP channel's formatter produces: `postNotification` sends it. */
export interface HttpRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export function jsonRequest(url: string, body: unknown, headers: Record<string, string> = {}): HttpRequest {
  return { url, headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** Cuts text to a receiver's limit, saying that it did. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
