"use server";

import { cookies, headers } from "next/headers";
import { z } from "zod";
import { defineAction } from "@/lib/actions";
import { isSecureRequest } from "@/lib/auth/request";
import { clientAddress } from "@/lib/client-address";
import { createFirstAdmin, readSessionCookie, SECURE_SESSION_COOKIE, SESSION_COOKIE, sessionCookieName, signIn, signOut } from "@/lib/auth/service";
import { passwordInput, usernameInput } from "@/lib/auth/inputs";

async function openSession(username: string, password: string) {
  const h = await headers();
  const jar = await cookies();
  const previous = readSessionCookie((name) => jar.get(name)?.value);
  const session = await signIn(username, password, { ip: clientAddress(h), userAgent: h.get("user-agent") }, previous);
  const secure = isSecureRequest(h, h.get("origin") ?? undefined);
  // Over https the prefixed name, which the browser holds to Secure, path / and this host only.
  if (secure && jar.has(SESSION_COOKIE)) jar.delete(SESSION_COOKIE);
  jar.set(sessionCookieName(secure), session.sessionToken, {
    httpOnly: true,
    sameSite: "strict",
    secure,
    path: "/",
    expires: session.expiresAt,
  });
  return { username: session.user.username };
}

export const signInAction = defineAction(
  "public",
  z.object({ username: z.string().trim().min(1, "enter your user name").max(64), password: z.string().min(1, "enter your password").max(1024) }),
  async ({ username, password }) => openSession(username, password),
  // Public, so the wrapper records nothing: sign-in writes its own rows, accepted and refused.
  { audit: "session.sign_in" },
);

export const setupAction = defineAction(
  "public",
  z.object({ username: usernameInput, password: passwordInput }),
  async ({ username, password }) => {
    await createFirstAdmin({ username, password });
    return openSession(username, password);
  },
  { audit: "setup" },
);

export const signOutAction = defineAction(
  "read",
  z.object({}),
  async () => {
    const jar = await cookies();
    const token = readSessionCookie((name) => jar.get(name)?.value);
    if (token) await signOut(token);
    jar.delete(SESSION_COOKIE);
    // A browser takes a __Host- cookie, even an expired one, only with Secure and path /.
    if (jar.has(SECURE_SESSION_COOKIE)) jar.set(SECURE_SESSION_COOKIE, "", { httpOnly: true, sameSite: "strict", secure: true, path: "/", maxAge: 0 });
    return null;
  },
  // Not while migrating: the session deleted from the SQLite file would still be valid on PostgreSQL after the switch.
  { audit: "session.sign_out" },
);
