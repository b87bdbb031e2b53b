"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { tickTime } from "@/app/_components/charts/series";
import { formatCount, formatTimestamp } from "@/lib/format";
import type { StorageHistory } from "@/lib/storage/types";

/** Runs started per bucket, stacked by outcome. */
export function ExecutionsChart({ history }: { history: StorageHistory }) {
  return (
    <ResponsiveContainer width="100%" height={220}>
      <BarChart data={history.executions} margin={{ top: 8, right: 8, bottom: 0, left: 8 }}>
        <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
        <XAxis dataKey="t" tickFormatter={(t: string) => tickTime(t, history.bucket)} tick={{ fontSize: 11 }} minTickGap={24} />
        <YAxis allowDecimals={false} tick={{ fontSize: 11 }} width="auto" tickFormatter={(value: number) => formatCount(value)} />
        <Tooltip labelFormatter={(t) => formatTimestamp(String(t))} formatter={(value) => formatCount(Number(value))} />
        <Legend wrapperStyle={{ fontSize: 12 }} />
        <Bar dataKey="success" stackId="runs" fill="#10b981" isAnimationActive={false} />
        <Bar dataKey="failed" stackId="runs" fill="#ef4444" isAnimationActive={false} />
        <Bar dataKey="other" name="running / other" stackId="runs" fill="#94a3b8" isAnimationActive={false} />
      </BarChart>
    </ResponsiveContainer>
  );
}
