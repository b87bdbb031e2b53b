"use client";

import { useRouter } from "next/navigation";
import { ConfirmButton } from "@/app/_components/confirm-button";
import { deleteJobAction } from "@/app/(dashboard)/jobs/actions";
import { formatCount } from "@/lib/format";

export function DeleteJob({ id, name, runs }: { id: string; name: string; runs: number }) {
  const router = useRouter();
  return (
    <ConfirmButton
      label="Delete job"
      title={`Delete job “${name}”?`}
      consequences={
        <>
          The schedule stops, a run in progress is stopped, and its <strong>{formatCount(runs)} run(s) of execution history</strong> are deleted with it. The pipeline stays.
        </>
      }
      confirmLabel="Delete job and its history"
      onConfirm={async () => {
        const result = await deleteJobAction({ id });
        if (!result.ok) return result.error.message;
        router.push("/jobs");
        return null;
      }}
    />
  );
}
