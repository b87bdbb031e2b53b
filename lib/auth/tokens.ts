import "server-only";
import crypto from "node:crypto";
import { z } from "zod";
import { notFound } from "@/lib/errors";
import { nowIso } from "@/lib/db/timestamps";
import { decodeCursor, toPage, type Page } from "@/lib/pagination";
import type { ApiTokenRow } from "@/lib/db/schema/auth";
import { hashSecret } from "@/lib/auth/passwords";
import { newApiTokenValue, tokenPrefix } from "@/lib/auth/service";
import type { Principal, Scope } from "@/lib/auth/scopes";
import type { CreateTokenInput, ListTokensQuery } from "@/lib/auth/inputs";
import type { ApiTokenDto, CreatedApiTokenDto } from "@/lib/auth/types";
import * as queries from "@/lib/auth/queries";
import { DAY_MS } from "@/lib/time";

export function toApiTokenDto(row: ApiTokenRow, now = nowIso()): ApiTokenDto {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scope: row.scope as Scope,
    created_by: row.createdBy,
    owner_user_id: row.ownerUserId,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
    status: row.revokedAt ? "revoked" : row.expiresAt && row.expiresAt <= now ? "expired" : "active",
  };
}

/**
 * Creates an API token and returns it once; only its sha256 is stored. The token belongs to the
 * creator's account: it ends with it and never acts above its role. Inserts one api_tokens row.
 */
export async function createApiToken(input: CreateTokenInput, creator: Principal): Promise<CreatedApiTokenDto> {
  const token = newApiTokenValue();
  const now = Date.now();
  const row = {
    id: crypto.randomUUID(),
    name: input.name,
    tokenHash: hashSecret(token),
    prefix: tokenPrefix(token),
    scope: input.scope,
    createdBy: creator.name,
    // A token belongs to the account behind its creator: a user, or the user owning the creating token.
    ownerUserId: creator.kind === "user" ? creator.id : (creator.ownerUserId ?? null),
    createdAt: new Date(now).toISOString(),
    expiresAt: input.expires_in_days ? new Date(now + input.expires_in_days * DAY_MS).toISOString() : null,
    lastUsedAt: null,
    revokedAt: null,
  };
  await queries.insertToken(row);
  return { ...toApiTokenDto(row), token };
}

const tokenCursor = z.object({ created_at: z.string(), id: z.string() });

/** Tokens newest first, paged; revoked and expired ones only when asked. Reads only. */
export async function listApiTokens(query: ListTokensQuery): Promise<Page<ApiTokenDto>> {
  const now = nowIso();
  const after = decodeCursor(query.cursor, tokenCursor);
  const rows = await queries.listTokenRows(query.limit, after, query.include_inactive ? null : now);
  const page = toPage(rows, query.limit, (row) => ({ created_at: row.createdAt, id: row.id }));
  return { items: page.items.map((row) => toApiTokenDto(row, now)), next_cursor: page.next_cursor };
}

/** Revokes a token at once (the next request with it gets 401); revoking twice is harmless. Updates one row. */
export async function revokeApiToken(id: string): Promise<ApiTokenDto> {
  const row = await queries.findTokenById(id);
  if (!row) throw notFound("API token", id);
  if (!row.revokedAt) await queries.revokeToken(id, nowIso());
  return toApiTokenDto((await queries.findTokenById(id))!);
}

export async function getApiToken(id: string): Promise<ApiTokenDto> {
  const row = await queries.findTokenById(id);
  if (!row) throw notFound("API token", id);
  return toApiTokenDto(row);
}
