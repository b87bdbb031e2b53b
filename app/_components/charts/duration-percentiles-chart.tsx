"use client";

import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { sampleDots } from "@/app/_components/charts/series";
import { formatDuration, formatDurationTick } from "@/lib/format";

/** Duration p50 and p95 per day (milliseconds), computed in SQL. */
export function DurationPercentilesChart({ days }: { days: { day: string; p50_ms: number | null; p95_ms: number | null }[] }) {
  const data = days.map((day) => ({ day: day.day.slice(5), p50: day.p50_ms, p95: day.p95_ms }));
  const max = Math.max(0, ...days.map((day) => Math.max(day.p50_ms ?? 0, day.p95_ms ?? 0)));
  return (
    <div className="h-56" data-testid="duration-chart">
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 5, right: 10, left: 0, bottom: 5 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="day" fontSize={11} />
          <YAxis fontSize={11} width="auto" tickFormatter={(value: number) => formatDurationTick(value, max)} />
          <Tooltip formatter={(value) => formatDuration(Number(value))} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Line type="linear" dataKey="p50" name="p50" stroke="#0284c7" dot={sampleDots(data.length, "#0284c7")} isAnimationActive={false} connectNulls />
          <Line type="linear" dataKey="p95" name="p95" stroke="#d97706" dot={sampleDots(data.length, "#d97706")} isAnimationActive={false} connectNulls />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
