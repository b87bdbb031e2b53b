"use client";

import { useState } from "react";
import { ExecutionsChart } from "@/app/_components/charts/executions-chart";
import { VolumeStackChart } from "@/app/_components/charts/volume-stack-chart";
import { Card } from "@/app/_components/ui/card";
import { useStorageHistory } from "@/lib/storage/hooks";
import { DATABASE_SERIES, HISTORY_RANGES, type HistoryRange, type StorageHistory } from "@/lib/storage/types";
import { WATCHED_VOLUMES } from "@/lib/config/volumes";

const RANGE_LABEL: Record<HistoryRange, string> = { "24h": "24 h", "7d": "7 d", "30d": "30 d", "90d": "90 d" };

/** The three growth charts over one chosen range; the server renders the first range, the rest are fetched. */
export function StorageCharts({ initial, intervalMinutes }: { initial: StorageHistory; intervalMinutes: number }) {
  const [range, setRange] = useState<HistoryRange>(initial.range ?? "24h");
  const { data, isFetching, error } = useStorageHistory(range, initial);
  const history = data ?? initial;
  const noSamples = history.volumes.length === 0;
  return (
    <section aria-label="Growth" data-range={history.range ?? range} className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 className="text-lg font-semibold text-slate-900">Growth</h2>
        <div className="flex items-center gap-3">
          <span className="text-xs text-slate-500">{error ? "cannot reach the server" : isFetching ? "loading…" : ""}</span>
          <div role="group" aria-label="Range" className="inline-flex overflow-hidden rounded-md ring-1 ring-slate-300">
            {HISTORY_RANGES.map((r) => (
              <button
                key={r}
                type="button"
                aria-pressed={range === r}
                onClick={() => setRange(r)}
                className={`px-3 py-1.5 text-sm font-medium ${range === r ? "bg-slate-900 text-white" : "bg-white text-slate-700 hover:bg-slate-50"}`}
              >
                {RANGE_LABEL[r]}
              </button>
            ))}
          </div>
        </div>
      </div>
      <Card title="Volume size, stacked">
        {noSamples ? (
          <EmptyChart>
            No samples in this range yet. One is taken at start-up and then every {intervalMinutes} min (storage.sample_interval_minutes).
          </EmptyChart>
        ) : (
          <div data-testid="chart-volumes">
            <VolumeStackChart history={history} series={WATCHED_VOLUMES} />
          </div>
        )}
      </Card>
      <div className="grid grid-cols-1 gap-6 xl:grid-cols-2">
        <Card title="Database growth">
          {noSamples ? (
            <EmptyChart>No samples in this range yet.</EmptyChart>
          ) : (
            <div data-testid="chart-database">
              <VolumeStackChart history={history} series={DATABASE_SERIES} stacked={false} />
            </div>
          )}
        </Card>
        <Card title="Runs started">
          {history.executions.length === 0 ? (
            <EmptyChart>No runs started in this range.</EmptyChart>
          ) : (
            <div data-testid="chart-executions">
              <ExecutionsChart history={history} />
            </div>
          )}
        </Card>
      </div>
    </section>
  );
}

function EmptyChart({ children }: { children: React.ReactNode }) {
  return <p className="flex h-40 items-center justify-center rounded-md bg-slate-50 px-6 text-center text-sm text-slate-500">{children}</p>;
}
