"use client";

import { Area, AreaChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { SERIES_STYLE, sampleDots, tickTime } from "@/app/_components/charts/series";
import { formatBytes, formatTimestamp } from "@/lib/format";
import type { SampleSeries, StorageHistory } from "@/lib/storage/types";

/** Stacked size over time of the given series (volumes, or the database files). */
export function VolumeStackChart({ history, series, stacked = true }: { history: StorageHistory; series: readonly SampleSeries[]; stacked?: boolean }) {
  const shown = series.filter((name) => history.volumes.some((point) => point[name] !== undefined));
  return (
    <ResponsiveContainer width="100%" height={260}>
      <AreaChart data={history.volumes} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
        <XAxis dataKey="t" tickFormatter={(t: string) => tickTime(t, history.bucket)} tick={{ fontSize: 11 }} minTickGap={24} />
        <YAxis tickFormatter={(v: number) => formatBytes(v)} tick={{ fontSize: 11 }} width="auto" />
        <Tooltip labelFormatter={(t) => formatTimestamp(String(t))} formatter={(v) => formatBytes(Number(v))} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        {shown.map((name) => (
          <Area
            key={name}
            type="linear"
            dot={sampleDots(history.volumes.length, SERIES_STYLE[name].color)}
            dataKey={name}
            name={SERIES_STYLE[name].label}
            stackId={stacked ? "size" : undefined}
            stroke={SERIES_STYLE[name].color}
            fill={SERIES_STYLE[name].color}
            fillOpacity={stacked ? 0.5 : 0.15}
            isAnimationActive={false}
            connectNulls
          />
        ))}
      </AreaChart>
    </ResponsiveContainer>
  );
}
