"use client";

/** Query keys of the token and user lists, invalidated after each change. */
export const authKeys = {
  tokens: ["api-tokens"] as const,
  users: ["users"] as const,
};
