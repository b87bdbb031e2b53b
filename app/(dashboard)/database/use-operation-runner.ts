"use client";

import { useRouter } from "next/navigation";
import { useEffect, useRef, useState, useTransition } from "react";
import { useOperation } from "@/lib/operations/hooks";
import type { ActionResult } from "@/lib/actions";
import type { OperationDto } from "@/lib/operations/types";

/**
 * Starts an operation through a server action and follows it: the operation while it runs, the
 * start error if it was refused, and one page refresh when it ends so the figures around it update.
 */
export function useOperationRunner(initial: OperationDto | null = null) {
  const router = useRouter();
  const [operationId, setOperationId] = useState<string | null>(initial?.id ?? null);
  const [startError, setStartError] = useState<string | null>(null);
  const [starting, startTransition] = useTransition();
  const { data: operation } = useOperation(operationId, initial && initial.id === operationId ? initial : undefined);
  const refreshedFor = useRef<string | null>(initial && initial.status !== "running" ? initial.id : null);

  useEffect(() => {
    if (operation && operation.status !== "running" && refreshedFor.current !== operation.id) {
      refreshedFor.current = operation.id;
      router.refresh();
    }
  }, [operation, router]);

  function start(run: () => Promise<ActionResult<OperationDto>>) {
    setStartError(null);
    startTransition(async () => {
      const result = await run();
      if (result.ok) setOperationId(result.data.id);
      else setStartError(result.error.message);
    });
  }

  const running = starting || operation?.status === "running";
  return { operation: operation ?? null, startError, running, start };
}
