"use client";

import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { measureNowAction } from "@/app/(dashboard)/storage/actions";
import { Button } from "@/app/_components/ui/button";
import { storageKeys } from "@/lib/storage/hooks";

export function MeasureButton() {
  const router = useRouter();
  const queryClient = useQueryClient();
  const [pending, startTransition] = useTransition();
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="flex items-center gap-3">
      {error && (
        <span role="status" className="text-sm text-red-700">
          {error}
        </span>
      )}
      <Button
        type="button"
        variant="secondary"
        disabled={pending}
        onClick={() =>
          startTransition(async () => {
            const result = await measureNowAction({});
            setError(result.ok ? null : result.error.message);
            if (result.ok) {
              await queryClient.invalidateQueries({ queryKey: storageKeys.all });
              router.refresh();
            }
          })
        }
      >
        {pending ? "Measuring…" : "Measure now"}
      </Button>
    </div>
  );
}
