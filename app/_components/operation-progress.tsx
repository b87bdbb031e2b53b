"use client";

import { ProgressBar } from "@/app/_components/ui/progress-bar";
import { useOperation } from "@/lib/operations/hooks";
import type { OperationDto } from "@/lib/operations/types";

/**
 * Follows one operation by id: progress bar while it runs, then its outcome. Keyed by id only, so a
 * page that stores the id (URL, server-rendered running operation) picks it up again after a reload.
 */
export function OperationProgress({
  id,
  label,
  initialData,
  renderResult,
}: {
  id: string;
  label: string;
  initialData?: OperationDto;
  renderResult?: (op: OperationDto) => React.ReactNode;
}) {
  const { data: op, error } = useOperation(id, initialData);
  if (error)
    return (
      <p className="text-sm text-red-700">
        Cannot follow {label}: {error.message}
      </p>
    );
  if (!op) return <ProgressBar done={0} total={null} unit={null} label={label} />;
  if (op.status === "running") {
    return (
      <div className="space-y-1" data-testid="operation-running">
        <ProgressBar done={op.progress.done} total={op.progress.total} unit={op.progress.unit} label={label} />
        {op.message && <p className="text-xs text-slate-600">{op.message}</p>}
      </div>
    );
  }
  if (op.status === "succeeded") {
    return (
      <div className="text-sm text-emerald-800" data-testid="operation-succeeded">
        {renderResult ? renderResult(op) : `${label} finished.`}
      </div>
    );
  }
  return (
    <p role="alert" className="text-sm text-red-700" data-testid="operation-failed">
      {label} {op.status}: {op.error?.message ?? "no reason recorded"}
    </p>
  );
}
