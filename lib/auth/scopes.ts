/** What a caller may do. Each scope includes the ones before it. */
export const SCOPES = ["read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Browser users have a role; a role grants one scope. */
export const ROLES = ["viewer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_SCOPE: Record<Role, Scope> = { viewer: "read", admin: "admin" };

export function scopeAllows(granted: Scope, required: Scope): boolean {
  return SCOPES.indexOf(granted) >= SCOPES.indexOf(required);
}

/** The narrower of two scopes: a token acts with at most its owner's. */
export function narrowerScope(a: Scope, b: Scope): Scope {
  return SCOPES.indexOf(a) <= SCOPES.indexOf(b) ? a : b;
}

export interface Principal {
  kind: "user" | "token";
  id: string;
  /** user name or token name, as written to the audit log */
  name: string;
  scope: Scope;
  role?: Role;
  /** a token's owning account (users.id), which tokens it creates belong to as well; null for unowned tokens */
  ownerUserId?: string | null;
}
