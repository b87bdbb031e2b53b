"use server";

import { cookies, headers } from "next/headers";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { createFirstAdmin, passwordInput, SESSION_COOKIE, signIn, signOut, usernameInput } from "@/lib/auth/service";

async function requestMeta() {
  const h = await headers();
  return {
    ip: h.get("x-forwarded-for")?.split(",")[0]?.trim() ?? h.get("x-real-ip") ?? null,
    userAgent: h.get("user-agent"),
    secure: (h.get("x-forwarded-proto") ?? h.get("origin")?.split(":")[0]) === "https",
  };
}

async function openSession(username: string, password: string) {
  const meta = await requestMeta();
  const session = await signIn(username, password, meta);
  (await cookies()).set(SESSION_COOKIE, session.sessionToken, {
    httpOnly: true,
    sameSite: "strict",
    secure: meta.secure,
    path: "/",
    expires: session.expiresAt,
  });
  return { username: session.user.username };
}

export const signInAction = defineAction(
  "public",
  z.object({ username: z.string().trim().min(1, "enter your user name"), password: z.string().min(1, "enter your password") }),
  async ({ username, password }) => openSession(username, password),
);

export const setupAction = defineAction(
  "public",
  z.object({ username: usernameInput, password: passwordInput }),
  async ({ username, password }) => {
    await createFirstAdmin({ username, password });
    return openSession(username, password);
  },
);

export const signOutAction = defineAction("read", z.object({}), async () => {
  const jar = await cookies();
  const token = jar.get(SESSION_COOKIE)?.value;
  if (token) await signOut(token);
  jar.delete(SESSION_COOKIE);
  return null;
});
