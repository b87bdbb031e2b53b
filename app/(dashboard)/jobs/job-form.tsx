"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { createJobAction, updateJobAction } from "@/app/(dashboard)/jobs/actions";

interface JobFields {
  name: string;
  pipeline: string;
  cron_expr: string;
  enabled: boolean;
}

const INPUT =
  "mt-1 block w-full rounded-md border-0 px-2.5 py-1.5 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-slate-900 disabled:bg-slate-100 disabled:text-slate-500";

/**
 * Creates a job, or edits one when `jobId` is given. Field errors come back from the server (cron named
 * by field). Without write access (`canWrite` false) the fields are shown disabled, with no save button.
 */
export function JobForm({ jobId, initial, pipelines, canWrite }: { jobId?: string; initial?: JobFields; pipelines: string[]; canWrite: boolean }) {
  const router = useRouter();
  const [fields, setFields] = useState<JobFields>(initial ?? { name: "", pipeline: pipelines[0] ?? "", cron_expr: "0 2 * * *", enabled: true });
  const [error, setError] = useState<{ message: string; fields?: Record<string, string[]> } | null>(null);
  const [saved, setSaved] = useState(false);
  const [pending, startTransition] = useTransition();
  const set = (key: keyof JobFields, value: string | boolean) => {
    setSaved(false);
    setFields((current) => ({ ...current, [key]: value }));
  };
  const typedPipeline = fields.pipeline.trim().replace(/\.ya?ml$/i, "");
  // Accepted (as Mimir AIP did, and a pipeline file may come later), but said before saving.
  const missingPipeline = canWrite && typedPipeline !== "" && !pipelines.includes(typedPipeline);
  // An edit sends its fields under `changes`, so their problems come back as changes.<field>.
  const fieldError = (key: string) => (error?.fields?.[key] ?? error?.fields?.[`changes.${key}`])?.join("; ");

  return (
    <form
      // The edit form sits in a narrower card than the create form: two columns there.
      className={`grid grid-cols-1 gap-4 sm:grid-cols-2 ${jobId ? "sm:items-end" : "lg:grid-cols-5 lg:items-end"}`}
      onSubmit={(event) => {
        event.preventDefault();
        startTransition(async () => {
          const result = jobId ? await updateJobAction({ id: jobId, changes: fields }) : await createJobAction(fields);
          if (!result.ok) {
            setError(result.error);
            return;
          }
          setError(null);
          if (jobId) {
            setSaved(true);
            router.refresh();
          } else {
            setFields({ ...fields, name: "" });
            router.push(`/jobs/${encodeURIComponent(result.data.id)}`);
          }
        });
      }}
    >
      <label className="block text-sm font-medium text-slate-700">
        Name
        <input className={INPUT} disabled={!canWrite} value={fields.name} onChange={(event) => set("name", event.target.value)} required maxLength={200} />
        {fieldError("name") && <span className="text-xs text-red-700">{fieldError("name")}</span>}
      </label>
      <label className="block text-sm font-medium text-slate-700">
        Pipeline
        <input
          className={INPUT}
          disabled={!canWrite}
          list="pipeline-names"
          value={fields.pipeline}
          onChange={(event) => set("pipeline", event.target.value)}
          required
          placeholder="name or file.yaml"
        />
        <datalist id="pipeline-names">
          {pipelines.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        {fieldError("pipeline") && <span className="text-xs text-red-700">{fieldError("pipeline")}</span>}
        {!fieldError("pipeline") && missingPipeline && (
          <span role="status" data-testid="missing-pipeline-note" className="block text-xs font-normal text-amber-800">
            No pipeline named {typedPipeline} yet: the job can be saved, but its runs fail until that pipeline exists.
          </span>
        )}
      </label>
      <label className="block text-sm font-medium text-slate-700">
        Cron expression
        <input
          className={`${INPUT} font-mono`}
          disabled={!canWrite}
          value={fields.cron_expr}
          onChange={(event) => set("cron_expr", event.target.value)}
          required
          placeholder="0 2 * * *"
        />
        {fieldError("cron_expr") && <span className="text-xs text-red-700">{fieldError("cron_expr")}</span>}
      </label>
      <label className="flex items-center gap-2 text-sm font-medium text-slate-700 lg:pb-2">
        <input
          type="checkbox"
          disabled={!canWrite}
          checked={fields.enabled}
          onChange={(event) => set("enabled", event.target.checked)}
          className="h-4 w-4 rounded border-slate-300"
        />
        Enabled
      </label>
      <div className="lg:pb-0.5">
        {canWrite ? (
          <Button type="submit" disabled={pending}>
            {pending ? "Saving…" : jobId ? "Save changes" : "Create job"}
          </Button>
        ) : (
          <p className="text-xs text-slate-500">Needs write access.</p>
        )}
      </div>
      {error && !error.fields && (
        <p role="alert" className="text-sm text-red-700 sm:col-span-2 lg:col-span-full">
          {error.message}
        </p>
      )}
      {saved && <p className="text-sm text-emerald-700 sm:col-span-2 lg:col-span-full">Saved; the scheduler uses the new settings now.</p>}
    </form>
  );
}
