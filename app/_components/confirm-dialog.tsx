"use client";

import { useEffect, useId, useRef, useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import type { ActionResult } from "@/lib/actions";

/**
 * The one confirmation for destructive actions (restore, reset, delete, token and user changes): it
 * names what will be lost, asks for the signed-in user's password again, and hands it to the action
 * (a `defineAction(…, { reauth: true })` action reads it from the `reauth_password` field). The
 * dialog stays open with the server's message when the password or the action is refused.
 *
 * ```tsx
 * <ConfirmDialog triggerLabel="Restore" title="Restore backup 20250115-020000?"
 *   consequences={<>Every change since {when} is lost…</>} confirmLabel="Restore"
 *   onConfirm={(reauth_password) => restoreBackupAction({ backupId, reauth_password })} />
 * ```
 *
 * Without `triggerLabel` it is controlled: shown while `open` is true, `onCancel` when dismissed
 * (for a list whose rows each open the same dialog).
 */
export function ConfirmDialog<T>({
  triggerLabel,
  triggerVariant = "danger",
  triggerClassName,
  title,
  consequences,
  confirmLabel,
  onConfirm,
  onDone,
  disabled,
  requirePhrase,
  confirmDisabled,
  option,
  open,
  onCancel,
}: {
  triggerLabel?: React.ReactNode;
  triggerVariant?: "primary" | "secondary" | "danger";
  triggerClassName?: string;
  title: string;
  /** what will be lost or changed, in plain words */
  consequences: React.ReactNode;
  confirmLabel: string;
  /** `optionChecked` is the state of the `option` checkbox, when there is one */
  onConfirm: (password: string, optionChecked: boolean) => Promise<ActionResult<T>>;
  onDone?: (data: T) => void;
  disabled?: boolean;
  /** for the gravest actions (reset all data): the confirm button stays off until this is typed */
  requirePhrase?: string;
  /** keeps the confirm button off while the choices in `consequences` make no sense (no volume chosen) */
  confirmDisabled?: boolean;
  /** an extra checkbox such as "delete even though jobs use it" */
  option?: string;
  /** controlled mode (no trigger button): shown while true */
  open?: boolean;
  /** called whenever the dialog closes: cancelled, dismissed with Escape, or done */
  onCancel?: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [error, setError] = useState<string | null>(null);
  const [typed, setTyped] = useState("");
  // State, cleared in the same update as the server's answer, so it can never wipe one typed after it.
  const [password, setPassword] = useState("");
  const [optionChecked, setOptionChecked] = useState(false);
  const [pending, startTransition] = useTransition();
  const titleId = useId();
  const passwordId = useId();
  const phraseId = useId();

  useEffect(() => {
    if (open === undefined) return;
    if (open && !dialog.current?.open) dialog.current?.showModal();
    if (!open && dialog.current?.open) dialog.current.close();
  }, [open]);

  // Closing fires the dialog's close event, whose handler clears the fields, however it was closed.
  function close() {
    dialog.current?.close();
  }

  function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    setError(null);
    startTransition(async () => {
      const result = await onConfirm(password, optionChecked);
      // The password is asked again after each answer, as sign-in forms do.
      setPassword("");
      if (result.ok) {
        close();
        onDone?.(result.data);
      } else {
        const fieldMessages = Object.values(result.error.fields ?? {}).flat();
        setError(fieldMessages.length > 0 ? fieldMessages.join("; ") : result.error.message);
      }
    });
  }

  return (
    <>
      {triggerLabel !== undefined && (
        <Button type="button" variant={triggerVariant} className={triggerClassName} disabled={disabled} onClick={() => dialog.current?.showModal()}>
          {triggerLabel}
        </Button>
      )}
      <dialog
        ref={dialog}
        aria-labelledby={titleId}
        onClose={() => {
          setError(null);
          setTyped("");
          setPassword("");
          setOptionChecked(false);
          onCancel?.();
        }}
        className="m-auto max-h-[calc(100dvh-2rem)] w-full max-w-[min(28rem,calc(100vw-2rem))] overflow-y-auto rounded-lg p-0 text-left shadow-xl backdrop:bg-slate-900/50"
      >
        <form onSubmit={submit} className="space-y-4 p-4 sm:p-6">
          <h2 id={titleId} className="text-lg font-semibold text-slate-900">
            {title}
          </h2>
          <div className="text-sm text-slate-700">{consequences}</div>
          {option && (
            <label className="flex items-center gap-2 text-sm text-slate-800">
              <input type="checkbox" checked={optionChecked} onChange={(event) => setOptionChecked(event.target.checked)} className="h-4 w-4" />
              {option}
            </label>
          )}
          {requirePhrase && (
            <label htmlFor={phraseId} className="block text-sm">
              <span className="font-medium text-slate-700">
                Type <code className="rounded bg-slate-100 px-1 font-mono">{requirePhrase}</code> to confirm
              </span>
              <input
                id={phraseId}
                value={typed}
                onChange={(e) => setTyped(e.target.value)}
                autoComplete="off"
                className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15"
              />
            </label>
          )}
          <label htmlFor={passwordId} className="block text-sm">
            <span className="font-medium text-slate-700">Your password, to confirm</span>
            <input
              id={passwordId}
              name="password"
              type="password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="current-password"
              className="mt-1 block w-full rounded-md border border-slate-300 px-3 py-2 shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15"
            />
          </label>
          {error && (
            <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
              {error}
            </p>
          )}
          <div className="flex flex-wrap justify-end gap-2">
            <Button type="button" variant="secondary" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" variant="danger" disabled={pending || confirmDisabled || (requirePhrase !== undefined && typed !== requirePhrase)}>
              {pending ? "Please wait…" : confirmLabel}
            </Button>
          </div>
        </form>
      </dialog>
    </>
  );
}
