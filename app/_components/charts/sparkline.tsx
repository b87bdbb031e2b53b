"use client";

import { Line, LineChart, ResponsiveContainer, YAxis } from "recharts";

/** A tiny trend line without axes, for a number shown beside it. */
export function Sparkline({ values, color = "#0284c7" }: { values: number[]; color?: string }) {
  if (values.length < 2) return <div className="h-8" />;
  return (
    <div className="h-8 w-24" aria-hidden>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={values.map((v, i) => ({ i, v }))}>
          <YAxis hide domain={["dataMin", "dataMax"]} />
          <Line type="monotone" dataKey="v" stroke={color} strokeWidth={1.5} dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
