import { z } from "zod";
import { pageOf, type ApiRoute } from "@/lib/openapi-registry";
import { pageQuery } from "@/lib/pagination";
import { createTokenInput, createUserInput, listTokensQuery, tokenIdParams, updateUserInput, userIdParams } from "@/lib/auth/inputs";
import { ROLES, SCOPES } from "@/lib/auth/scopes";
import type { ApiTokenDto, CreatedApiTokenDto, UserDto } from "@/lib/auth/types";

const USERS = "Users";
const TOKENS = "API tokens";

const user = z
  .object({ id: z.string(), username: z.string(), role: z.enum(ROLES), created_at: z.string(), updated_at: z.string(), disabled_at: z.string().nullable() })
  .loose() satisfies z.ZodType<UserDto>;
const apiToken = z
  .object({
    id: z.string(),
    name: z.string(),
    /** the first characters, to recognise the token a script holds */
    prefix: z.string(),
    scope: z.enum(SCOPES),
    created_by: z.string().nullable(),
    owner_user_id: z.string().nullable(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    status: z.enum(["active", "expired", "revoked"]),
  })
  .loose() satisfies z.ZodType<ApiTokenDto>;
const createdToken = apiToken.extend({ token: z.string() }) satisfies z.ZodType<CreatedApiTokenDto>;

const noUser = { 404: { description: "No such user" } };
const noToken = { 404: { description: "No such token" } };
const guarded = { 409: { description: "Refused: your own account (code self_change), or the last enabled admin (code last_admin)" } };

/** The user and API token routes, for the OpenAPI document. */
export const AUTH_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/users",
    summary: "Users by name, with role and whether disabled",
    tag: USERS,
    access: "admin",
    query: pageQuery,
    responses: { 200: { description: "A page of users", schema: pageOf(user) } },
  },
  {
    method: "post",
    path: "/api/v1/users",
    summary: "Add a user (role admin or viewer; password at least 12 characters)",
    tag: USERS,
    access: "admin",
    reauth: true,
    body: createUserInput,
    responses: { 201: { description: "The user", schema: user }, 409: { description: "The name is taken (code already_exists)" } },
  },
  {
    method: "get",
    path: "/api/v1/users/{userId}",
    summary: "One user",
    tag: USERS,
    access: "admin",
    params: userIdParams,
    responses: { 200: { description: "The user", schema: user }, ...noUser },
  },
  {
    method: "patch",
    path: "/api/v1/users/{userId}",
    summary: "Change a user's role or disable/enable them (disabling or demoting ends their sessions)",
    tag: USERS,
    access: "admin",
    reauth: true,
    params: userIdParams,
    body: updateUserInput,
    responses: { 200: { description: "The user", schema: user }, ...noUser, ...guarded },
  },
  {
    method: "delete",
    path: "/api/v1/users/{userId}",
    summary: "Delete a user and their sessions",
    tag: USERS,
    access: "admin",
    reauth: true,
    params: userIdParams,
    responses: { 200: { description: "The user as it was", schema: user }, ...noUser, ...guarded },
  },
  {
    method: "get",
    path: "/api/v1/tokens",
    summary: "API tokens, newest first, never the token itself; revoked and expired ones only with include_inactive=true",
    tag: TOKENS,
    access: "admin",
    query: listTokensQuery,
    responses: { 200: { description: "A page of tokens", schema: pageOf(apiToken) } },
  },
  {
    method: "post",
    path: "/api/v1/tokens",
    summary:
      "Create an API token with a scope (read, write, admin) and an optional lifetime in days; the token is in this answer (Cache-Control: no-store) and nowhere else, ever",
    tag: TOKENS,
    access: "admin",
    reauth: true,
    body: createTokenInput,
    responses: { 201: { description: "The token, with its secret value in `token`", schema: createdToken } },
  },
  {
    method: "get",
    path: "/api/v1/tokens/{tokenId}",
    summary: "One API token (never the token itself)",
    tag: TOKENS,
    access: "admin",
    params: tokenIdParams,
    responses: { 200: { description: "The token", schema: apiToken }, ...noToken },
  },
  {
    method: "delete",
    path: "/api/v1/tokens/{tokenId}",
    summary: "Revoke an API token at once (revoking it again changes nothing); lists show it only with include_inactive=true",
    tag: TOKENS,
    access: "admin",
    reauth: true,
    params: tokenIdParams,
    responses: { 200: { description: "The token, revoked", schema: apiToken }, ...noToken },
  },
];
