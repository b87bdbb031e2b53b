"use client";

import { Button } from "@/app/_components/ui/button";
import { ProgressBar } from "@/app/_components/ui/progress-bar";
import { Badge } from "@/app/_components/ui/badge";
import { formatBytes, formatDuration, formatTimestamp, formatCountOf } from "@/lib/format";
import type { OperationDto } from "@/lib/operations/types";
import type { AnalyzeResult, CheckpointReport, IntegrityResult, VacuumResult } from "@/lib/maintenance/types";
import { startMaintenanceAction } from "./actions";
import { useOperationRunner } from "./use-operation-runner";

export type MaintenanceKind = "vacuum" | "analyze" | "integrity_check" | "checkpoint";

/** One maintenance action: what it would gain (from the server), a button, its progress, and its last stored result. */
export function MaintenanceAction({
  kind,
  title,
  gain,
  warning,
  lastRun,
  canRun,
  blockedReason,
}: {
  kind: MaintenanceKind;
  title: string;
  gain: React.ReactNode;
  warning?: string;
  lastRun: OperationDto | null;
  canRun: boolean;
  blockedReason?: string;
}) {
  const { operation, startError, running, start } = useOperationRunner(lastRun);
  return (
    <div className="flex flex-col rounded-md border border-slate-200 p-4" data-testid={`maintenance-${kind}`}>
      <h3 className="text-sm font-semibold text-slate-900">{title}</h3>
      <div className="mt-1 flex-1 text-sm text-slate-600">{gain}</div>
      {warning && <p className="mt-2 text-xs text-amber-800">{warning}</p>}
      {blockedReason && (
        <p role="alert" className="mt-2 text-xs text-red-700">
          {blockedReason}
        </p>
      )}
      <div className="mt-3">
        {canRun ? (
          <Button variant="secondary" disabled={running || Boolean(blockedReason)} onClick={() => start(() => startMaintenanceAction({ kind }))}>
            {running ? "Running…" : `Run ${title}`}
          </Button>
        ) : (
          <p className="text-xs text-slate-500">Needs write access.</p>
        )}
      </div>
      {startError && (
        <p role="alert" className="mt-2 text-sm text-red-700">
          {startError}
        </p>
      )}
      {operation && (
        <div className="mt-3 border-t border-slate-100 pt-3 text-sm" aria-live="polite">
          <OperationOutcome operation={operation} />
        </div>
      )}
    </div>
  );
}

function OperationOutcome({ operation }: { operation: OperationDto }) {
  if (operation.status === "running") {
    return (
      <div className="space-y-1">
        <ProgressBar done={operation.progress.done} total={operation.progress.total} unit={operation.progress.unit} label={`${operation.kind} progress`} />
        {operation.message && <p className="text-xs text-slate-600">{operation.message}</p>}
      </div>
    );
  }
  if (operation.status !== "succeeded") {
    return (
      <p role="alert" className="text-red-700">
        {operation.status} {formatTimestamp(operation.finished_at)}: {operation.error?.message ?? "no reason recorded"}
      </p>
    );
  }
  return (
    <div className="space-y-1" data-testid="maintenance-result">
      <div className="text-xs text-slate-500">Last run {formatTimestamp(operation.finished_at)}</div>
      <ResultSummary kind={operation.kind} result={operation.result} />
    </div>
  );
}

function ResultSummary({ kind, result }: { kind: string; result: unknown }) {
  if (kind === "vacuum" && typeof result === "object" && result !== null && "dead_rows_before" in result) {
    // PostgreSQL's VACUUM (ANALYZE): nothing goes back to the file system, dead rows become reusable.
    const r = result as { tables: number; dead_rows_before: number; duration_ms: number };
    return (
      <p className="text-slate-800">
        VACUUM (ANALYZE) of {r.tables} tables made the space of <strong>{r.dead_rows_before}</strong> dead rows reusable in {formatDuration(r.duration_ms)}.
      </p>
    );
  }
  if (kind === "vacuum") {
    const r = result as VacuumResult;
    return (
      <p className="text-slate-800">
        Reclaimed <strong>{formatBytes(r.reclaimed_bytes)}</strong>: {formatBytes(r.file_bytes_before + r.wal_bytes_before)} →{" "}
        {formatBytes(r.file_bytes_after + r.wal_bytes_after)}, free pages {r.free_pages_before} → {r.free_pages_after}, in {formatDuration(r.duration_ms)}.
      </p>
    );
  }
  if (kind === "analyze") {
    const r = result as AnalyzeResult;
    return <p className="text-slate-800">Statistics refreshed in {formatDuration(r.duration_ms)}.</p>;
  }
  if (kind === "checkpoint") {
    const r = result as CheckpointReport;
    return (
      <p className="text-slate-800">
        WAL {formatBytes(r.wal_bytes_before)} → {formatBytes(r.wal_bytes_after)} ({r.frames_checkpointed} frames copied
        {r.busy ? "; a reader kept it from finishing" : ""}).
      </p>
    );
  }
  const r = result as IntegrityResult;
  return r.ok ? (
    <p className="text-slate-800">
      <Badge tone="green">ok</Badge> {r.mode} found no problems in {formatDuration(r.duration_ms)}.
    </p>
  ) : (
    <div className="text-red-800">
      <Badge tone="red">{formatCountOf(r.problems.length, "problem")}</Badge>
      <ul className="mt-1 max-h-40 list-disc overflow-auto pl-5 font-mono text-xs">
        {r.problems.map((problem, i) => (
          <li key={i}>{problem}</li>
        ))}
      </ul>
    </div>
  );
}
