"use client";

import { useState, useTransition } from "react";
import { Badge, statusTone } from "@/app/_components/ui/badge";
import { Button } from "@/app/_components/ui/button";
import { testRunPipelineAction } from "@/app/(dashboard)/pipelines/actions";
import { formatDuration } from "@/lib/format";
import type { TestRunResult } from "@/lib/scheduler/run";

const NS_PER_MS = 1_000_000;

/**
 * Runs the saved pipeline once, now, without a job: the steps really run (a webhook is called, a
 * backup is written), so the button says so. The outcome stays on the page: status, each step, the log.
 */
export function TestRunPipeline({ name }: { name: string }) {
  const [result, setResult] = useState<TestRunResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, startTransition] = useTransition();
  const run = () =>
    startTransition(async () => {
      setError(null);
      setResult(null);
      const answer = await testRunPipelineAction({ name });
      if (answer.ok) setResult(answer.data);
      else setError(answer.error.message);
    });
  return (
    <div className="space-y-3 text-sm">
      <p className="text-xs text-slate-500">
        Runs the saved definition once now, outside any job; its steps really run. The answer comes when it has finished.
      </p>
      <Button variant="secondary" onClick={run} disabled={pending}>
        {pending ? "Running…" : "Test run"}
      </Button>
      {error && (
        <p role="alert" className="text-red-700">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="test-run-result" className="space-y-2">
          <p role="status">
            <Badge tone={statusTone(result.status)}>{result.status}</Badge> <span className="font-mono text-xs text-slate-500">{result.execution_id}</span>
            {result.error && <span className="block text-red-700">{result.error}</span>}
          </p>
          <ol className="space-y-1">
            {result.steps.map((step, index) => (
              <li key={`${step.step_name}-${index}`} className="text-xs">
                <span className="font-medium text-slate-800">{step.step_name}</span> <span className="font-mono text-slate-500">{step.plugin}</span>{" "}
                <Badge tone={statusTone(step.status)}>{step.status}</Badge>{" "}
                {step.duration != null && <span className="text-slate-500">{formatDuration(step.duration / NS_PER_MS)}</span>}
                {step.error && <span className="block text-red-700">{step.error}</span>}
              </li>
            ))}
          </ol>
          {result.log && (
            <pre aria-label="Test run log" className="max-h-64 overflow-auto rounded bg-slate-900 p-2 text-xs text-slate-100">
              {result.log}
            </pre>
          )}
        </div>
      )}
    </div>
  );
}
