"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Badge } from "@/app/_components/ui/badge";
import { Button } from "@/app/_components/ui/button";
import { setScheduledBackupsAction } from "./actions";

type Outcome = { kind: "done"; message: string } | { kind: "error"; message: string } | null;

interface Props {
  enabled: boolean;
  /** the environment variable that sets the value, which this page then cannot change */
  envVariable: string | null;
  canAdmin: boolean;
}

/** The on/off state of scheduled backups; admins switch it here (no data is lost either way, so no confirmation). */
export function ScheduledBackupsSwitch({ enabled, envVariable, canAdmin }: Props) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [outcome, setOutcome] = useState<Outcome>(null);

  function turn(next: boolean) {
    startTransition(async () => {
      const result = await setScheduledBackupsAction({ enabled: next });
      if (result.ok) {
        const missing = result.data.jobs.filter((job) => job.enabled === null).map((job) => job.id);
        setOutcome({
          kind: "done",
          message:
            (next
              ? "Scheduled backups are on: the backup, prune and verify jobs are enabled."
              : "Scheduled backups are off: the backup, prune and verify jobs are disabled; the existing sets are kept.") +
            (missing.length > 0 ? ` Deleted job${missing.length > 1 ? "s" : ""} not brought back: ${missing.join(", ")}.` : ""),
        });
        router.refresh();
      } else {
        setOutcome({ kind: "error", message: result.error.message });
      }
    });
  }

  return (
    <div className="flex flex-col items-start gap-2" data-testid="scheduled-backups">
      <div className="flex flex-wrap items-center gap-3">
        <Badge tone={enabled ? "green" : "slate"}>{enabled ? "on" : "off"}</Badge>
        {canAdmin && (
          <Button type="button" variant="secondary" className="px-2.5 py-1 text-xs" disabled={pending || envVariable !== null} onClick={() => turn(!enabled)}>
            {pending ? (enabled ? "Turning off…" : "Turning on…") : enabled ? "Turn scheduled backups off" : "Turn scheduled backups on"}
          </Button>
        )}
      </div>
      {envVariable && (
        <p className="text-xs text-slate-500">
          Set by the environment variable <code>{envVariable}</code>, which wins over config.yaml; change it there.
        </p>
      )}
      {outcome?.kind === "done" && (
        <p role="status" className="text-xs text-emerald-700">
          {outcome.message}
        </p>
      )}
      {outcome?.kind === "error" && (
        <p role="alert" className="text-xs text-red-700">
          {outcome.message}
        </p>
      )}
    </div>
  );
}
