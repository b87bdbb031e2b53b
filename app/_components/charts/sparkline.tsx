"use client";

import { Line, LineChart, ResponsiveContainer, YAxis } from "recharts";
import { sampleDots } from "@/app/_components/charts/series";

/** A tiny trend without axes, for a number shown beside it: straight segments, and dots while samples are few. */
export function Sparkline({ values, color = "#0284c7" }: { values: number[]; color?: string }) {
  if (values.length === 0) return <div className="h-8 w-24" />;
  return (
    <div className="h-8 w-24" aria-hidden data-testid="sparkline" data-points={values.length}>
      <ResponsiveContainer width="100%" height="100%">
        {/* Hidden from assistive technology (the number beside it says it): not focusable either. */}
        <LineChart data={values.map((v, i) => ({ i, v }))} accessibilityLayer={false} tabIndex={-1}>
          <YAxis hide domain={["dataMin", "dataMax"]} />
          <Line type="linear" dataKey="v" stroke={color} strokeWidth={1.5} dot={sampleDots(values.length, color, 1.5)} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}
