"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { Button } from "@/app/_components/ui/button";
import { clonePipelineAction, deletePipelineAction } from "@/app/(dashboard)/pipelines/actions";
import { formatCountOf } from "@/lib/format";

export function ClonePipeline({ name }: { name: string }) {
  const router = useRouter();
  const [newName, setNewName] = useState(`${name}-copy`);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  return (
    <form
      className="flex flex-wrap items-end gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        startTransition(async () => {
          const result = await clonePipelineAction({ name, newName });
          if (!result.ok) return setError(result.error.fields?.newName?.join("; ") ?? result.error.message);
          router.push(`/pipelines/${encodeURIComponent(result.data.name)}`);
        });
      }}
    >
      <label className="block text-sm font-medium text-slate-700">
        Clone as
        <input
          value={newName}
          onChange={(event) => setNewName(event.target.value)}
          className="mt-1 block w-56 rounded-md border-0 px-2.5 py-1.5 text-sm ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-slate-900"
        />
      </label>
      <Button type="submit" variant="secondary" disabled={pending}>
        {pending ? "Cloning…" : "Clone"}
      </Button>
      {error && <p className="w-full text-sm text-red-700">{error}</p>}
    </form>
  );
}

export function DeletePipeline({ name, jobs }: { name: string; jobs: { id: string; name: string }[] }) {
  const router = useRouter();
  return (
    <ConfirmDialog
      triggerLabel="Delete pipeline"
      title={`Delete pipeline “${name}”?`}
      consequences={
        <>
          Its definition and the file <code>{name}.yaml</code> in the pipelines volume are deleted; its run history stays.
          {jobs.length > 0 && (
            <>
              {" "}
              <strong>
                {formatCountOf(jobs.length, "job")} {jobs.length === 1 ? "uses" : "use"} it ({jobs.map((job) => job.name).join(", ")}):
              </strong>{" "}
              deleting is refused unless forced, and forced, their runs fail until they are pointed at another pipeline.
            </>
          )}
        </>
      }
      option={jobs.length > 0 ? "Delete even though jobs use it" : undefined}
      confirmLabel="Delete pipeline"
      onConfirm={(password, force) => deletePipelineAction({ name, force, reauth_password: password })}
      onDone={() => router.push("/pipelines")}
    />
  );
}
