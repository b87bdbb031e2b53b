"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { OperationProgress } from "@/app/_components/operation-progress";
import { MeasuredAt } from "@/app/_components/ui/measured-at";
import { formatBytes, formatCount, formatCountOf } from "@/lib/format";
import { useOperation } from "@/lib/operations/hooks";
import type { BackupVolume } from "@/lib/backups/types";
import type { OperationDto } from "@/lib/operations/types";
import type { ResetPreview, ResetResult } from "@/lib/maintenance/types";
import { resetAllDataAction } from "./actions";

/** What each volume holds, in the operations guide's words. */
const VOLUME_HOLDS: Record<BackupVolume, string> = {
  mimir_data: "the database's jobs, pipelines and run history, and every other file in the data folder (vector store, caches)",
  mimir_logs: "the application log and every run's log",
  mimir_config: "config.yaml and anything beside it (settings go back to defaults and the environment)",
  mimir_plugins: "installed plugins",
  mimir_pipelines: "pipeline files, and the pipelines' rows with them",
};

/**
 * The guide's "Reset All Data" as a button: choose volumes, read exactly what each would lose, then
 * type the instance name and your password. The reset is an exclusive operation (nothing else runs
 * beside it), starts with a safety backup and follows here as a progress bar.
 */
export function ResetPanel({ preview, lastRun }: { preview: ResetPreview; lastRun: OperationDto | null }) {
  const router = useRouter();
  const [chosen, setChosen] = useState<BackupVolume[]>(preview.volumes.map((volume) => volume.name));
  const [operationId, setOperationId] = useState<string | null>(lastRun?.id ?? null);
  const { data: operation } = useOperation(operationId, lastRun && lastRun.id === operationId ? lastRun : undefined);
  const refreshedFor = useRef<string | null>(lastRun && lastRun.status !== "running" ? lastRun.id : null);

  // The counts around the panel are of before the reset: read them again once it has ended.
  useEffect(() => {
    if (operation && operation.status !== "running" && refreshedFor.current !== operation.id) {
      refreshedFor.current = operation.id;
      router.refresh();
    }
  }, [operation, router]);

  const chosenVolumes = preview.volumes.filter((volume) => chosen.includes(volume.name));
  const data = chosen.includes("mimir_data");
  const pipelines = chosen.includes("mimir_pipelines");
  const running = operation?.status === "running";

  function toggle(name: BackupVolume, on: boolean) {
    setChosen((current) => (on ? [...current, name] : current.filter((volume) => volume !== name)));
  }

  return (
    <div className="space-y-4 text-sm">
      <p className="text-slate-700">
        The guide&apos;s <code className="text-xs">docker volume rm mimir_data mimir_logs …</code> without stopping anything by hand: the scheduler stops, a{" "}
        <strong>safety backup</strong> of all five volumes is taken first (if it fails, nothing is deleted), then the chosen volumes are emptied and the console
        starts fresh. The volume folders themselves stay: they may be Docker mount points. <strong>Your users, sessions and API tokens are kept</strong>, and so
        are the audit log, the instance id and the list of backups. Nothing else may run during a reset. Scripts:{" "}
        <code className="text-xs">POST /api/v1/reset</code>.
      </p>
      <p className="text-slate-700">
        Instance name:{" "}
        <code className="rounded bg-slate-100 px-1 font-mono" data-testid="instance-name">
          {preview.instance_name}
        </code>
      </p>
      <fieldset className="space-y-1.5">
        <legend className="mb-1 font-medium text-slate-800">Volumes to empty</legend>
        <p className="text-xs text-slate-500">
          Sizes as on the Storage page, <MeasuredAt at={preview.measured_at} />.
        </p>
        {preview.volumes.map((volume) => (
          <label key={volume.name} className="flex items-start gap-2">
            <input
              type="checkbox"
              className="mt-0.5"
              checked={chosen.includes(volume.name)}
              disabled={running}
              onChange={(e) => toggle(volume.name, e.target.checked)}
            />
            <span>
              <code className="font-mono text-xs">{volume.name}</code>{" "}
              <span className="text-slate-500" data-testid={`reset-size-${volume.name}`}>
                ({formatBytes(volume.size_bytes)})
              </span>
            </span>
          </label>
        ))}
      </fieldset>
      <ConfirmDialog
        triggerLabel="Reset all data…"
        title={`Reset ${preview.instance_name}?`}
        disabled={chosen.length === 0 || running}
        requirePhrase={preview.instance_name}
        confirmLabel="Reset"
        consequences={
          <div className="space-y-2" data-testid="reset-consequences">
            <p>This deletes, after a safety backup you can restore:</p>
            <ul className="list-disc space-y-1 pl-5">
              {chosenVolumes.map((volume) => (
                <li key={volume.name} data-volume={volume.name}>
                  <code className="font-mono text-xs">{volume.name}</code>: {VOLUME_HOLDS[volume.name]} —{" "}
                  {volume.name === "mimir_data" ? `the database's rows and ${formatCountOf(volume.files, "other file")}` : formatCountOf(volume.files, "file")}{" "}
                  ({formatBytes(volume.bytes)})
                  {volume.name === "mimir_data" && (
                    <>
                      , <strong>{formatCount(preview.rows.jobs)} jobs</strong>, <strong>{formatCount(preview.rows.pipelines)} pipelines</strong> and{" "}
                      <strong>{formatCount(preview.rows.executions)} executions</strong>
                    </>
                  )}
                </li>
              ))}
            </ul>
            <p>Your users and API tokens are kept, as are the audit log and the backups.</p>
            {data && !pipelines && (
              <p className="text-amber-800">
                mimir_pipelines is not chosen: its pipeline files stay and are imported again as pipelines right after the reset.
              </p>
            )}
            {pipelines && !data && (
              <p className="text-amber-800">mimir_data is not chosen: the jobs stay, and those using a deleted pipeline fail until it exists again.</p>
            )}
            {data && <p>The built-in jobs of a fresh install (backups, retention, storage sampling) are created again, even ones you had deleted.</p>}
          </div>
        }
        onConfirm={(password) => resetAllDataAction({ confirm: preview.instance_name, volumes: chosen, reauth_password: password })}
        onDone={(started) => setOperationId(started.id)}
      />
      {operationId && (
        <OperationProgress
          id={operationId}
          label="Reset"
          initialData={lastRun && lastRun.id === operationId ? lastRun : undefined}
          renderResult={(op) => {
            const result = op.result as ResetResult;
            return (
              <div data-testid="reset-result" className="space-y-1">
                <p>
                  Reset {result.volumes.join(", ")}. Everything that was there is in the safety backup{" "}
                  <code className="font-mono text-xs">{result.safety_backup_id}</code>: restore it from the Backups page to undo the reset.
                </p>
                {result.warnings.map((warning) => (
                  <p key={warning} className="text-amber-800">
                    {warning}
                  </p>
                ))}
              </div>
            );
          }}
        />
      )}
    </div>
  );
}
