/**
 * What the console and the exports never hand out on their own: the one list of them. Secrets are
 * never returned; they travel only inside whole-database copies (backups, the SQL dump) that a
 * restore needs.
 */

/** Tables of password and token hashes and session ids. */
export const CREDENTIAL_TABLES: ReadonlySet<string> = new Set(["users", "sessions", "api_tokens", "notification_channels", "offsite_destinations"]);

/** What the credential tables hold, in words for refusals. */
export const CREDENTIAL_CONTENTS = "password or token hashes, session ids, sealed channel and offsite destination secrets";

/**
 * SQLite's planner samples (written by ANALYZE with STAT4, as this build has): whole index keys of
 * every table, so copies of usernames, session id hashes and token hashes from the credential
 * tables' indexes. Not a table an export lists, but a query could read it.
 */
export const INDEX_SAMPLE_TABLES: ReadonlySet<string> = new Set(["sqlite_stat4", "sqlite_stat3"]);

export function isCredentialTable(table: string): boolean {
  return CREDENTIAL_TABLES.has(table);
}
