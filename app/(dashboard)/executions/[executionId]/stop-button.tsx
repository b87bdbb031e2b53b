"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { stopExecutionAction } from "@/app/(dashboard)/executions/actions";

export function StopButton({ id }: { id: string }) {
  const router = useRouter();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  return (
    <span className="inline-flex items-center gap-2">
      <Button
        type="button"
        variant="danger"
        disabled={pending}
        onClick={() =>
          startTransition(async () => {
            const result = await stopExecutionAction({ id });
            setError(result.ok ? null : result.error.message);
            router.refresh();
          })
        }
      >
        {pending ? "Stopping…" : "Stop run"}
      </Button>
      {error && <span className="text-sm text-red-700">{error}</span>}
    </span>
  );
}
