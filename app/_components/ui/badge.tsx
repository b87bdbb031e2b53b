const TONES = {
  green: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  amber: "bg-amber-50 text-amber-800 ring-amber-600/20",
  red: "bg-red-50 text-red-700 ring-red-600/20",
  slate: "bg-slate-100 text-slate-700 ring-slate-500/20",
  blue: "bg-sky-50 text-sky-700 ring-sky-600/20",
} as const;

export type BadgeTone = keyof typeof TONES;

export function Badge({ tone = "slate", children }: { tone?: BadgeTone; children: React.ReactNode }) {
  return (
    <span className={`inline-flex items-center whitespace-nowrap rounded-md px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONES[tone]}`}>{children}</span>
  );
}

export function statusTone(status: string): BadgeTone {
  if (["healthy", "success", "succeeded", "ok"].includes(status)) return "green";
  if (["degraded", "running", "queued", "skipped", "warning"].includes(status)) return "amber";
  if (["unhealthy", "failed", "error"].includes(status)) return "red";
  return "slate";
}
