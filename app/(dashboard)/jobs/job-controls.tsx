"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { runJobNowAction, setJobEnabledAction } from "@/app/(dashboard)/jobs/actions";

/**
 * Enable/disable switch of one job; the scheduler applies it at once. Without write access it only
 * shows the state (disabled), described by the element `describedBy` names.
 */
export function EnabledToggle({
  id,
  name,
  enabled,
  canWrite,
  describedBy,
}: {
  id: string;
  name: string;
  enabled: boolean;
  canWrite: boolean;
  describedBy?: string;
}) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="inline-flex items-center gap-2">
      <button
        type="button"
        role="switch"
        aria-checked={enabled}
        aria-label={`Enabled: ${name}`}
        aria-describedby={canWrite ? undefined : describedBy}
        disabled={pending || !canWrite}
        onClick={() =>
          startTransition(async () => {
            const result = await setJobEnabledAction({ id, enabled: !enabled });
            setError(result.ok ? null : result.error.message);
            router.refresh();
          })
        }
        className={`relative inline-flex h-5 w-9 shrink-0 rounded-full transition-colors disabled:opacity-50 ${enabled ? "bg-emerald-600" : "bg-slate-300"}`}
      >
        <span className={`absolute top-0.5 h-4 w-4 rounded-full bg-white shadow transition-transform ${enabled ? "translate-x-4" : "translate-x-0.5"}`} />
      </button>
      {error && <span className="text-xs text-red-700">{error}</span>}
    </span>
  );
}

/** Runs a job now and links to the run it started. */
export function RunNowButton({ id, name, variant = "secondary" }: { id: string; name: string; variant?: "primary" | "secondary" }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [outcome, setOutcome] = useState<{ executionId?: string; status?: string; error?: string } | null>(null);
  return (
    <span className="inline-flex items-center gap-2">
      <Button
        type="button"
        variant={variant}
        disabled={pending}
        className="whitespace-nowrap px-2.5 py-1 text-xs"
        onClick={() =>
          startTransition(async () => {
            const result = await runJobNowAction({ id });
            setOutcome(result.ok ? { executionId: result.data.execution_id, status: result.data.status } : { error: result.error.message });
            router.refresh();
          })
        }
      >
        {/* The visible words start the accessible name (WCAG 2.5.3): "Run now" works for voice control. */}
        {pending ? "Starting…" : "Run now"}
        <span className="sr-only"> for {name}</span>
      </Button>
      {outcome?.executionId && (
        <Link href={`/executions/${outcome.executionId}`} className="text-xs font-medium text-sky-700 hover:underline">
          {outcome.status === "skipped" ? "skipped (already running)" : "view run"}
        </Link>
      )}
      {outcome?.error && <span className="text-xs text-red-700">{outcome.error}</span>}
    </span>
  );
}
