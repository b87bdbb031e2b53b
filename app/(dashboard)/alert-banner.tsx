"use client";

import Link from "next/link";
import { useAlerts } from "@/lib/storage/hooks";
import type { StorageAlert } from "@/lib/storage/types";

/** Shown on every dashboard page while a storage alert is raised; follows new samples without a reload. */
export function AlertBanner({ initialData }: { initialData: StorageAlert[] }) {
  const { data } = useAlerts(initialData);
  const active = data.filter((alert) => alert.state === "raised");
  if (active.length === 0) return null;
  return (
    <div role="alert" data-testid="alert-banner" className="mb-6 rounded-lg border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-900">
      <div className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1">
        <strong className="font-semibold">{active.length === 1 ? "Storage alert" : `${active.length} storage alerts`}</strong>
        <Link href="/storage" className="shrink-0 font-medium underline underline-offset-2 hover:text-red-700">
          Open Storage
        </Link>
      </div>
      <ul className="mt-1 space-y-1">
        {active.map((alert) => (
          <li key={alert.key}>{alert.message}</li>
        ))}
      </ul>
    </div>
  );
}
