"use client";

import { useId } from "react";
import { Button } from "@/app/_components/ui/button";

/**
 * The frame of an add/edit form in a modal dialog (a notification channel, an offsite destination):
 * the title, the fields, the refusal the server gave, Cancel and the submit button that says what it
 * does. The caller owns the dialog element (showModal on open) and the draft.
 */
export function FormDialog({
  dialogRef,
  title,
  onClose,
  onSubmit,
  error,
  pending,
  canSubmit,
  submitLabel,
  children,
}: {
  dialogRef: React.RefObject<HTMLDialogElement | null>;
  title: string;
  onClose: () => void;
  onSubmit: () => void;
  error: string | null;
  pending: boolean;
  canSubmit: boolean;
  submitLabel: string;
  children: React.ReactNode;
}) {
  const titleId = useId();
  return (
    <dialog
      ref={dialogRef}
      aria-labelledby={titleId}
      onClose={onClose}
      className="m-auto max-h-[calc(100dvh-2rem)] w-full max-w-[min(40rem,calc(100vw-2rem))] overflow-y-auto rounded-lg p-0 text-left shadow-xl backdrop:bg-slate-900/50"
    >
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onSubmit();
        }}
        className="space-y-4 p-4 sm:p-6"
      >
        <h2 id={titleId} className="text-lg font-semibold text-slate-900">
          {title}
        </h2>
        {children}
        {error && (
          <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
            {error}
          </p>
        )}
        <div className="flex flex-wrap justify-end gap-2">
          <Button type="button" variant="secondary" onClick={() => dialogRef.current?.close()}>
            Cancel
          </Button>
          <Button type="submit" disabled={pending || !canSubmit}>
            {pending ? "Saving…" : submitLabel}
          </Button>
        </div>
      </form>
    </dialog>
  );
}
