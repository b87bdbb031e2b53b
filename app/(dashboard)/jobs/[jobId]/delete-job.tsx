"use client";

import { useRouter } from "next/navigation";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { deleteJobAction } from "@/app/(dashboard)/jobs/actions";
import { formatCountOf } from "@/lib/format";

export function DeleteJob({ id, name, runs }: { id: string; name: string; runs: number }) {
  const router = useRouter();
  return (
    <ConfirmDialog
      triggerLabel="Delete job"
      title={`Delete job “${name}”?`}
      consequences={
        <>
          The schedule stops, a run in progress is stopped, and its <strong>{formatCountOf(runs, "run")} of execution history</strong>{" "}
          {runs === 1 ? "is" : "are"} deleted with it. The pipeline stays.
        </>
      }
      confirmLabel="Delete job and its history"
      onConfirm={(password) => deleteJobAction({ id, reauth_password: password })}
      onDone={() => router.push("/jobs")}
    />
  );
}
