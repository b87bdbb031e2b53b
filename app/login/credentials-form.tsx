"use client";

import { useRouter } from "next/navigation";
import { useId, useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import type { ActionResult } from "@/lib/actions";
import { keepInput } from "@/app/_components/keep-input";
import { safeNextPath } from "@/lib/sign-in-next";

type Action = (input: { username: string; password: string }) => Promise<ActionResult<{ username: string }>>;

/** The fields this form shows; a problem with one of them is said beside it, not again above the button. */
const FIELDS = { username: "User name", password: "Password" } as const;

/** The sign-in and first-run setup form: same fields, a different action and wording. */
/** `next`: the page to open after signing in (already checked to be one of this site's). */
export function CredentialsForm({
  action,
  submitLabel,
  passwordHint,
  next = "/",
}: {
  action: Action;
  submitLabel: string;
  passwordHint?: string;
  next?: string;
}) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});

  function submit(fields: FormData, form: HTMLFormElement) {
    setError(null);
    setFieldErrors({});
    startTransition(async () => {
      const result = await action({ username: String(fields.get("username") ?? ""), password: String(fields.get("password") ?? "") });
      if (result.ok) {
        router.replace(safeNextPath(next));
        router.refresh();
      } else {
        // The user name stays for a second try; the password is typed again, as sign-in forms do.
        const password = form.elements.namedItem("password");
        if (password instanceof HTMLInputElement) password.value = "";
        // Each problem once, beside its field and naming it; the banner only for what no field shows
        // (a wrong password, a throttled sign-in), never the generic "Some fields are not valid" (B15).
        const fields = result.error.fields ?? {};
        const elsewhere = Object.entries(fields).filter(([name]) => !Object.hasOwn(FIELDS, name));
        const besideFields = Object.keys(fields).length > elsewhere.length;
        setError(elsewhere.length > 0 ? elsewhere.flatMap(([, messages]) => messages).join("; ") : besideFields ? null : result.error.message);
        setFieldErrors(fields);
      }
    });
  }

  return (
    <form onSubmit={keepInput(submit)} className="space-y-4">
      <Field name="username" label={FIELDS.username} autoComplete="username" errors={fieldErrors.username} />
      <Field
        name="password"
        label={FIELDS.password}
        type="password"
        autoComplete={passwordHint ? "new-password" : "current-password"}
        errors={fieldErrors.password}
        hint={passwordHint}
      />
      {error && (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
          {error}
        </p>
      )}
      <Button type="submit" disabled={pending} className="w-full">
        {pending ? "Please wait…" : submitLabel}
      </Button>
    </form>
  );
}

/** A labelled input with its hint, which its errors replace (the hint says the rule; the error, how it was broken). */
function Field({
  name,
  label,
  type = "text",
  autoComplete,
  errors,
  hint,
}: {
  name: string;
  label: string;
  type?: string;
  autoComplete: string;
  errors?: string[];
  hint?: string;
}) {
  const noteId = useId();
  const problem = errors && errors.length > 0 ? `${label}: ${errors.join("; ")}` : null;
  return (
    <div className="text-sm">
      {/* The note sits outside the label: it is the field's description, not part of its name. */}
      <label className="block">
        <span className="font-medium text-slate-700">{label}</span>
        <input
          name={name}
          type={type}
          required
          autoComplete={autoComplete}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem || hint ? noteId : undefined}
          className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15"
        />
      </label>
      {problem ? (
        <span id={noteId} role="alert" className="mt-1 block text-xs text-red-600">
          {problem}
        </span>
      ) : (
        hint && (
          <span id={noteId} className="mt-1 block text-xs text-slate-500">
            {hint}
          </span>
        )
      )}
    </div>
  );
}
