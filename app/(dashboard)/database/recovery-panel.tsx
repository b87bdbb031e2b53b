"use client";

import { useState } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { Button } from "@/app/_components/ui/button";
import { ProgressBar } from "@/app/_components/ui/progress-bar";
import { formatBytes, formatCount } from "@/lib/format";
import type { OperationDto } from "@/lib/operations/types";
import type { RecoveryResult } from "@/lib/maintenance/types";
import { startRecoverAction, swapRecoveredAction } from "./actions";
import { useOperationRunner } from "./use-operation-runner";
import { DataTable } from "@/app/_components/ui/data-table";

/** The word typed to confirm swapping a recovered database in. */
const CONFIRM_WORD = "swap";

/** Recover into a new file, read the report of what was and was not saved, then swap it in on a typed confirmation. */
export function RecoveryPanel({ lastRun }: { lastRun: OperationDto | null }) {
  const { operation, startError, running, start } = useOperationRunner(lastRun);
  const [swapMessage, setSwapMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const result = operation?.status === "succeeded" ? (operation.result as RecoveryResult) : null;

  const lost = result ? result.tables.filter((t) => t.original === null || t.recovered < t.original) : [];
  return (
    <div className="space-y-3 text-sm">
      <Button variant="secondary" disabled={running} onClick={() => start(() => startRecoverAction({}))}>
        {running ? "Recovering…" : "Recover into a new file"}
      </Button>
      {startError && (
        <p role="alert" className="text-red-700">
          {startError}
        </p>
      )}
      {operation?.status === "running" && <ProgressBar done={0} total={null} unit={null} label="Recovery progress" />}
      {operation && operation.status !== "running" && operation.status !== "succeeded" && (
        <p role="alert" className="text-red-700">
          Recovery {operation.status}: {operation.error?.message}
        </p>
      )}
      {result && (
        <div className="space-y-3" data-testid="recovery-result">
          <p className="text-slate-800">
            {result.method} wrote <code className="text-xs">{result.recovered_file}</code> ({formatBytes(result.recovered_bytes)}); its integrity check{" "}
            {result.recovered_integrity_ok ? "passes" : "still fails"}.
            {result.lost_and_found_rows > 0 ? ` ${formatCount(result.lost_and_found_rows)} rows could not be placed and are kept in lost_and_found.` : ""}
          </p>
          <DataTable columns={[{ label: "Table" }, { label: "Saved" }, { label: "In the damaged file" }]} dense>
            {result.tables.map((t) => (
              <tr key={t.name} className={t.original === null || t.recovered < t.original ? "text-red-800" : "text-slate-800"}>
                <td className="py-1.5 pr-4 font-mono">{t.name}</td>
                <td className="py-1.5 pr-4 tabular-nums">{formatCount(t.recovered)}</td>
                <td className="py-1.5 tabular-nums">{t.original === null ? "unknown (cannot be counted)" : formatCount(t.original)}</td>
              </tr>
            ))}
          </DataTable>
          {result.problems.length > 0 && (
            <ul className="max-h-32 list-disc overflow-auto pl-5 font-mono text-xs text-slate-600">
              {result.problems.map((p, i) => (
                <li key={i}>{p}</li>
              ))}
            </ul>
          )}
          {!swapMessage?.ok && operation && (
            <ConfirmDialog
              triggerLabel="Swap it in…"
              title="Swap in the recovered database?"
              consequences={
                <>
                  The live database is replaced with the recovered one.{" "}
                  {lost.length > 0 ? `Rows not saved are lost from the live database: ${lost.map((t) => t.name).join(", ")}.` : "Every counted row was saved."}{" "}
                  A copy of the damaged file is kept beside it.
                </>
              }
              requirePhrase={CONFIRM_WORD}
              confirmLabel="Swap it in"
              onConfirm={(password) => swapRecoveredAction({ operation_id: operation.id, confirm: CONFIRM_WORD, reauth_password: password })}
              onDone={(data) => setSwapMessage({ ok: true, text: `Swapped in. The damaged database is kept as ${data.damaged_copy}.` })}
            />
          )}
        </div>
      )}
      {swapMessage && (
        <p role={swapMessage.ok ? "status" : "alert"} className={swapMessage.ok ? "text-emerald-800" : "text-red-700"}>
          {swapMessage.text}
        </p>
      )}
    </div>
  );
}
