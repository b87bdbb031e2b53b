"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatDuration } from "@/lib/format";

/** Duration p50 and p95 per day (milliseconds), computed in SQL. */
export function DurationPercentilesChart({ days }: { days: { day: string; p50_ms: number | null; p95_ms: number | null }[] }) {
  const data = days.map((day) => ({ day: day.day.slice(5), p50: day.p50_ms, p95: day.p95_ms }));
  return (
    <div className="h-56" data-testid="duration-chart">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 5, right: 10, left: 0, bottom: 5 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="day" fontSize={11} />
          <YAxis fontSize={11} width={56} tickFormatter={(value: number) => formatDuration(value)} />
          <Tooltip formatter={(value) => formatDuration(Number(value))} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line type="monotone" dataKey="p50" name="p50" stroke="#0284c7" dot={false} isAnimationActive={false} connectNulls />
          <Line type="monotone" dataKey="p95" name="p95" stroke="#d97706" dot={false} isAnimationActive={false} connectNulls />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
