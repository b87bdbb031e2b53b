"use client";

import { useId, useState } from "react";
import { Button } from "@/app/_components/ui/button";
import { ProgressBar } from "@/app/_components/ui/progress-bar";
import { apiUpload } from "@/lib/api-client";
import type { OperationDto } from "@/lib/operations/types";

/**
 * Imports a set downloaded from a console (mimir-backup-<id>.tar): uploads it with a progress bar to
 * POST /api/v1/backups/import, then hands the operation that checks and lists it to `onStarted`.
 */
export function ImportSet({ onStarted }: { onStarted: (op: OperationDto) => void }) {
  const inputId = useId();
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const upload = async () => {
    if (!file) return;
    setError(null);
    setProgress({ sent: 0, total: file.size });
    try {
      const operation = await apiUpload<OperationDto>("/api/v1/backups/import", file, (sent, total) => setProgress({ sent, total }), "application/x-tar");
      setFile(null);
      onStarted(operation);
    } catch (caught) {
      setError((caught as Error).message);
    } finally {
      setProgress(null);
    }
  };
  return (
    <div className="space-y-2 text-sm">
      <div className="flex flex-wrap items-end gap-2">
        <label htmlFor={inputId} className="block text-sm font-medium text-slate-700">
          Import a downloaded set
          <input
            id={inputId}
            type="file"
            accept=".tar,application/x-tar"
            disabled={progress !== null}
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
            className="mt-1 block text-xs text-slate-700 file:mr-2 file:rounded-md file:border-0 file:bg-slate-100 file:px-2.5 file:py-1 file:text-xs file:font-semibold"
          />
        </label>
        <Button variant="secondary" disabled={!file || progress !== null} onClick={() => void upload()}>
          Upload and import
        </Button>
      </div>
      <p className="text-xs text-slate-500">
        A file from a set&apos;s Download button (mimir-backup-&lt;id&gt;.tar); it is checked by a restore drill before it is listed.
      </p>
      {progress && <ProgressBar done={progress.sent} total={progress.total} unit="bytes" label="Upload" />}
      {error && (
        <p role="alert" className="text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}
