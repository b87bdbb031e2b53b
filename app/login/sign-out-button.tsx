"use client";

import { useRouter } from "next/navigation";
import { useTransition } from "react";
import { signOutAction } from "@/app/login/actions";

export function SignOutButton() {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  return (
    <button
      type="button"
      disabled={pending}
      onClick={() =>
        startTransition(async () => {
          await signOutAction({});
          router.replace("/login");
        })
      }
      className="mt-2 text-slate-300 underline-offset-2 hover:text-white hover:underline"
    >
      {pending ? "Signing out…" : "Sign out"}
    </button>
  );
}
