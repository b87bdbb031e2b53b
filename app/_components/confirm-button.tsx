"use client";

import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";

/**
 * A destructive action behind a confirmation that says what will be lost. `onConfirm` returns an error
 * message to show, or null when it succeeded (the caller navigates away).
 */
export function ConfirmButton({
  label,
  title,
  consequences,
  confirmLabel,
  onConfirm,
  option,
}: {
  label: string;
  title: string;
  consequences: React.ReactNode;
  confirmLabel: string;
  onConfirm: (optionChecked: boolean) => Promise<string | null>;
  /** an extra checkbox such as "delete even though jobs use it" */
  option?: string;
}) {
  const [open, setOpen] = useState(false);
  const [checked, setChecked] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  if (!open) {
    return (
      <Button type="button" variant="danger" onClick={() => setOpen(true)}>
        {label}
      </Button>
    );
  }
  return (
    <div role="alertdialog" aria-label={title} className="w-full max-w-xl rounded-lg border border-red-200 bg-red-50 p-4 text-sm">
      <p className="font-semibold text-red-900">{title}</p>
      <div className="mt-1 text-red-800">{consequences}</div>
      {option && (
        <label className="mt-3 flex items-center gap-2 text-red-900">
          <input type="checkbox" checked={checked} onChange={(event) => setChecked(event.target.checked)} className="h-4 w-4" />
          {option}
        </label>
      )}
      {error && (
        <p role="alert" className="mt-2 font-medium text-red-700">
          {error}
        </p>
      )}
      <div className="mt-3 flex gap-2">
        <Button
          type="button"
          variant="danger"
          disabled={pending}
          onClick={() =>
            startTransition(async () => {
              setError(await onConfirm(checked));
            })
          }
        >
          {pending ? "Working…" : confirmLabel}
        </Button>
        <Button type="button" variant="secondary" onClick={() => setOpen(false)} disabled={pending}>
          Cancel
        </Button>
      </div>
    </div>
  );
}
