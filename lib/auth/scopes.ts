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

export interface Principal {
  kind: "user" | "token";
  id: string;
  /** user name or token name, as written to the audit log */
  name: string;
  scope: Scope;
  role?: Role;
}
