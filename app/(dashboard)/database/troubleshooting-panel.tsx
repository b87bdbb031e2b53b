import { Badge, type BadgeTone } from "@/app/_components/ui/badge";
import type { CheckStatus, TroubleshootingCheck } from "@/lib/maintenance/types";

const TONE: Record<CheckStatus, BadgeTone> = { ok: "green", warning: "amber", problem: "red" };

/** The guide's troubleshooting symptoms, checked when the page loads, each with its fix in plain words. */
export function TroubleshootingPanel({ checks }: { checks: TroubleshootingCheck[] }) {
  return (
    <ul className="divide-y divide-slate-100">
      {checks.map((check) => (
        <li key={check.id} className="py-3" data-testid={`check-${check.id}`}>
          <div className="flex items-center gap-2">
            <Badge tone={TONE[check.status]}>{check.status}</Badge>
            <span className="text-sm font-semibold text-slate-900">{check.title}</span>
          </div>
          <ul className="mt-1 space-y-0.5 pl-1 text-xs text-slate-600">
            {check.findings.map((finding, i) => (
              <li key={i} className="break-all">
                {finding}
              </li>
            ))}
          </ul>
          {check.fix.length > 0 && (
            <div className="mt-2 rounded-md bg-amber-50 px-3 py-2 text-xs text-amber-900">
              <div className="font-semibold">Fix</div>
              <ul className="mt-0.5 list-disc space-y-0.5 pl-4">
                {check.fix.map((line, i) => (
                  <li key={i} className="break-all">
                    {line}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
