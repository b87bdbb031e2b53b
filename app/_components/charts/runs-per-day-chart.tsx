"use client";

import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatCount } from "@/lib/format";

const STATUS_COLOURS: Record<string, string> = { success: "#059669", failed: "#dc2626", cancelled: "#64748b", skipped: "#d97706", running: "#0284c7" };

/** Runs per day, stacked by status; the series comes aggregated from SQL. */
export function RunsPerDayChart({ days }: { days: { day: string; by_status: Record<string, number> }[] }) {
  const data = days.map((day) => ({ day: day.day.slice(5), ...day.by_status }));
  const statuses = Object.keys(STATUS_COLOURS).filter((status) => days.some((day) => day.by_status[status]));
  return (
    <div className="h-56" data-testid="runs-per-day-chart">
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 5, right: 10, left: 0, bottom: 5 }}>
          <CartesianGrid strokeDasharray="3 3" stroke="#e2e8f0" />
          <XAxis dataKey="day" fontSize={11} />
          <YAxis allowDecimals={false} fontSize={11} width="auto" tickFormatter={(value: number) => formatCount(value)} />
          <Tooltip formatter={(value) => formatCount(Number(value))} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          {statuses.map((status) => (
            <Bar key={status} dataKey={status} stackId="runs" fill={STATUS_COLOURS[status]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
