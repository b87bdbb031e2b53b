"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";
import { BackUpNowButton, FollowedOperation } from "@/app/(dashboard)/backups/backup-operations";
import type { OperationDto } from "@/lib/operations/types";

/**
 * The Overview's Back up now: starts with the operations the server found running, so a reload
 * picks their progress bars up again; a finished one re-renders the card's stored figures.
 */
export function BackUpNow({ running, canWrite }: { running: OperationDto[]; canWrite: boolean }) {
  const router = useRouter();
  const [operations, setOperations] = useState<OperationDto[]>(running);
  const [error, setError] = useState<string | null>(null);
  const follow = (op: OperationDto) => setOperations((current) => [op, ...current.filter((o) => o.id !== op.id)]);
  if (!canWrite && operations.length === 0) return null;
  return (
    <div className="mt-4 space-y-3">
      {canWrite && <BackUpNowButton onStarted={follow} onError={setError} />}
      {operations.map((op) => (
        <FollowedOperation key={op.id} id={op.id} kind={op.kind} initial={op} onFinished={() => router.refresh()} />
      ))}
      {error && (
        <p role="alert" className="text-sm text-red-700">
          {error}
        </p>
      )}
    </div>
  );
}
