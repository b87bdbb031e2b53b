import { z } from "zod";
import { ROLES, SCOPES } from "@/lib/auth/scopes";
import { pageQuery } from "@/lib/pagination";

/** Longest token lifetime a person can pick: ten years, i.e. "until revoked" for practical purposes. */
export const MAX_TOKEN_DAYS = 3650;

export const usernameInput = z
  .string()
  .trim()
  .regex(/^[a-zA-Z0-9._-]{1,64}$/, "1 to 64 letters, digits, '.', '_' or '-'");
export const passwordInput = z.string().min(12, "at least 12 characters").max(1024, "at most 1024 characters");

export const createUserInput = z.object({
  username: usernameInput,
  password: passwordInput,
  role: z.enum(ROLES),
});
export type CreateUserInput = z.infer<typeof createUserInput>;

export const updateUserInput = z
  .object({
    role: z.enum(ROLES).optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .refine((value) => value.role !== undefined || value.disabled !== undefined, "give 'role', 'disabled' or both");
export type UpdateUserInput = z.infer<typeof updateUserInput>;

export const userIdParams = z.object({ userId: z.string().min(1).max(64) });

export const createTokenInput = z.object({
  name: z.string().trim().min(1, "give the token a name").max(100, "at most 100 characters"),
  scope: z.enum(SCOPES),
  /** empty or absent: the token lives until revoked */
  expires_in_days: z.preprocess((value) => (value === "" || value === null ? undefined : value), z.coerce.number().int().min(1).max(MAX_TOKEN_DAYS).optional()),
});
export type CreateTokenInput = z.infer<typeof createTokenInput>;

export const tokenIdParams = z.object({ tokenId: z.string().min(1).max(64) });

export const listTokensQuery = pageQuery.extend({
  /** revoked and expired tokens are hidden unless asked for */
  include_inactive: z
    .enum(["true", "false"])
    .default("false")
    .transform((value) => value === "true"),
});
export type ListTokensQuery = z.infer<typeof listTokensQuery>;
