"use client";

import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { ProgressBar } from "@/app/_components/ui/progress-bar";
import { formatBytes, formatCount, formatCountOf, formatDuration, formatTimestamp } from "@/lib/format";
import type { OperationDto } from "@/lib/operations/types";
import type { RetentionReport } from "@/lib/maintenance/types";
import { retentionDryRunAction, startRetentionCleanupAction } from "./actions";
import { useOperationRunner } from "./use-operation-runner";
import { keepInput } from "@/app/_components/keep-input";

const inputClass =
  "mt-1 block w-full rounded-md border-0 px-3 py-1.5 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-slate-900";

/**
 * Dry run first, then the real cleanup: the delete button appears only once a dry run has said
 * what goes, and asks to confirm naming it.
 */
export function RetentionPanel({
  defaultDays,
  appLogDays,
  jobs,
  lastRun,
  canRun,
}: {
  defaultDays: number;
  appLogDays: number;
  jobs: { id: string; name: string | null; runs: number }[];
  lastRun: OperationDto | null;
  canRun: boolean;
}) {
  const [preview, setPreview] = useState<RetentionReport | null>(null);
  const [previewForm, setPreviewForm] = useState<FormData | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [previewing, startPreview] = useTransition();
  const { operation, startError, running, start } = useOperationRunner(lastRun);

  function dryRun(form: FormData) {
    setError(null);
    setFieldErrors({});
    setConfirming(false);
    form.set("dry_run", "true");
    startPreview(async () => {
      const result = await retentionDryRunAction(form);
      if (result.ok) {
        setPreview(result.data);
        setPreviewForm(form);
      } else {
        setError(result.error.message);
        setFieldErrors(result.error.fields ?? {});
        setPreview(null);
      }
    });
  }

  function cleanUp() {
    if (!previewForm) return;
    const form = new FormData();
    previewForm.forEach((value, key) => form.set(key, value));
    form.set("dry_run", "false");
    setConfirming(false);
    setPreview(null);
    start(() => startRetentionCleanupAction(form));
  }

  const doomed = preview ? preview.expired_rows + preview.over_cap_rows : 0;
  return (
    <div className="space-y-4">
      <form onSubmit={keepInput(dryRun)} className="grid grid-cols-1 gap-4 sm:grid-cols-4 sm:items-end" onChange={() => setPreview(null)}>
        <label className="text-sm font-medium text-slate-700">
          Keep days of history
          <input name="retention_days" type="number" min={0} defaultValue={defaultDays} className={inputClass} aria-describedby="days-hint" />
          <FieldError errors={fieldErrors.retention_days} />
        </label>
        <label className="text-sm font-medium text-slate-700">
          Keep at most runs per job
          <input name="keep_per_job" type="number" min={1} placeholder="no cap" className={inputClass} />
          <FieldError errors={fieldErrors.keep_per_job} />
        </label>
        <label className="text-sm font-medium text-slate-700">
          Runs of
          <select name="job_id" defaultValue="" className={inputClass}>
            <option value="">All jobs</option>
            {jobs.map((job) => (
              <option key={job.id} value={job.id}>
                {job.name ?? job.id} ({formatCountOf(job.runs, "run")})
              </option>
            ))}
          </select>
        </label>
        <Button type="submit" variant="secondary" disabled={!canRun || previewing || running}>
          {previewing ? "Counting…" : "Dry run"}
        </Button>
      </form>
      <p id="days-hint" className="text-xs text-slate-500">
        persistence.retention_days is {defaultDays} (0 keeps everything). Runs still marked running are never deleted. Rotated application logs older than{" "}
        {appLogDays} days go too. {canRun ? "" : "Needs write access."}
      </p>
      {error && (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      )}
      {preview && (
        <div className="rounded-md bg-slate-50 p-4 text-sm" data-testid="retention-preview">
          <p className="text-slate-800">
            Dry run: <strong>{formatCount(preview.expired_rows)}</strong> runs started before{" "}
            {preview.cutoff ? formatTimestamp(preview.cutoff) : "any cut-off (no age bound)"}
            {preview.keep_per_job ? (
              <>
                {" "}
                and <strong>{formatCount(preview.over_cap_rows)}</strong> beyond {preview.keep_per_job} per job
              </>
            ) : null}{" "}
            would be deleted with their log files, freeing about {formatBytes(preview.estimated_row_bytes)}
            {preview.app_logs.length > 0 ? `, plus ${formatCountOf(preview.app_logs.length, "rotated app log file")}` : ""}.
          </p>
          {doomed > 0 && !confirming && (
            <Button variant="danger" className="mt-3" onClick={() => setConfirming(true)}>
              Delete {formatCountOf(doomed, "run")}
            </Button>
          )}
          {confirming && (
            <div role="alertdialog" aria-label="Confirm cleanup" className="mt-3 rounded-md border border-red-200 bg-red-50 p-3">
              <p className="text-red-800">
                This permanently deletes {formatCount(doomed)} execution records{preview.job_id ? ` of job ${preview.job_id}` : ""} and their log files. Only a
                backup can bring them back.
              </p>
              <div className="mt-2 flex gap-2">
                <Button variant="danger" onClick={cleanUp}>
                  Delete for good
                </Button>
                {/* The button that opened this confirmation is gone: focus lands on the harmless choice. */}
                <Button variant="secondary" autoFocus onClick={() => setConfirming(false)}>
                  Cancel
                </Button>
              </div>
            </div>
          )}
        </div>
      )}
      {startError && (
        <p role="alert" className="text-sm text-red-700">
          {startError}
        </p>
      )}
      {operation && <CleanupOutcome operation={operation} />}
    </div>
  );
}

function CleanupOutcome({ operation }: { operation: OperationDto }) {
  if (operation.status === "running") {
    return (
      <div className="space-y-1">
        <ProgressBar done={operation.progress.done} total={operation.progress.total} unit={operation.progress.unit} label="Retention cleanup progress" />
        {operation.message && <p className="text-xs text-slate-600">{operation.message}</p>}
      </div>
    );
  }
  if (operation.status !== "succeeded") {
    return (
      <p role="alert" className="text-sm text-red-700">
        Cleanup {operation.status}: {operation.error?.message ?? "no reason recorded"}
      </p>
    );
  }
  const r = operation.result as RetentionReport;
  return (
    <p className="text-sm text-slate-800" data-testid="retention-result">
      Last cleanup {formatTimestamp(operation.finished_at)}: deleted <strong>{formatCount(r.deleted_rows)}</strong> runs and{" "}
      {formatCountOf(r.log_files_deleted, "log file")}
      {r.app_logs.length ? ` and ${formatCountOf(r.app_logs.length, "app log file")}` : ""}; reclaimed <strong>{formatBytes(r.reclaimed_bytes)}</strong>{" "}
      (database {formatBytes(r.db_bytes_before)} → {formatBytes(r.db_bytes_after)}
      {r.space_returned_by === "none"
        ? `; ${formatCount(r.free_pages_left)} free pages stay in the file for reuse — run VACUUM to give them back`
        : `, pages returned by ${r.space_returned_by.replace("_", " ")}`}
      ) in {formatDuration(r.duration_ms)}
      {r.cancelled ? " (cancelled part-way)" : ""}.
    </p>
  );
}

function FieldError({ errors }: { errors?: string[] }) {
  return errors?.length ? <span className="mt-1 block text-xs text-red-700">{errors.join("; ")}</span> : null;
}
