"use client";

import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { setJobFailureThresholdAction } from "@/app/(dashboard)/jobs/actions";
import { MAX_FAILURE_THRESHOLD } from "@/lib/jobs/inputs";
import type { JobNotificationSettingsDto } from "@/lib/notify/types";

/** How many failed runs in a row it takes before the notification channels hear about this job. */
export function FailureThreshold({ settings, canWrite }: { settings: JobNotificationSettingsDto; canWrite: boolean }) {
  const [value, setValue] = useState(String(settings.failure_threshold));
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [pending, startTransition] = useTransition();
  return (
    <form
      className="space-y-2 text-sm"
      onSubmit={(event) => {
        event.preventDefault();
        startTransition(async () => {
          const result = await setJobFailureThresholdAction({ id: settings.job_id, failure_threshold: Number(value) });
          setMessage(
            result.ok
              ? { ok: true, text: "Saved" }
              : {
                  ok: false,
                  text:
                    Object.values(result.error.fields ?? {})
                      .flat()
                      .join("; ") || result.error.message,
                },
          );
        });
      }}
    >
      <label className="block">
        <span className="font-medium text-slate-700">Notify after this many failed runs in a row</span>
        <input
          type="number"
          min={1}
          max={MAX_FAILURE_THRESHOLD}
          required
          disabled={!canWrite}
          value={value}
          onChange={(e) => setValue(e.target.value)}
          className="mt-1 block w-28 rounded-md border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-slate-500 focus:outline-none focus:ring-2 focus:ring-slate-900/15"
        />
      </label>
      <p className="text-xs text-slate-500">
        Failed in a row now: {settings.consecutive_failures}. One notification per run of failures, and one when the job succeeds again.
      </p>
      {canWrite && (
        <div className="flex items-center gap-2">
          <Button type="submit" variant="secondary" disabled={pending}>
            {pending ? "Saving…" : "Save"}
          </Button>
          {message && (
            <span role="status" className={message.ok ? "text-emerald-700" : "text-red-700"}>
              {message.text}
            </span>
          )}
        </div>
      )}
    </form>
  );
}
