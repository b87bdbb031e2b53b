import type { Role, Scope } from "@/lib/auth/scopes";

/** An API token as lists show it: never the token or its hash. */
export interface ApiTokenDto {
  id: string;
  name: string;
  /** the first characters, to recognise the token a script holds */
  prefix: string;
  scope: Scope;
  created_by: string | null;
  /** the account it acts for: it ends when that user is disabled or deleted, and never exceeds its role; null for MIMIR_API_TOKEN and older unowned tokens */
  owner_user_id: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  status: "active" | "expired" | "revoked";
}

/** Returned once, when a token is created: the only time the token itself leaves the server. */
export interface CreatedApiTokenDto extends ApiTokenDto {
  token: string;
}

export interface UserDto {
  id: string;
  username: string;
  role: Role;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}
