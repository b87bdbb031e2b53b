"use client";

import dynamic from "next/dynamic";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useState, useTransition } from "react";
import { Button } from "@/app/_components/ui/button";
import { savePipelineAction, validatePipelineAction } from "@/app/(dashboard)/pipelines/actions";
import type { PipelineIssue } from "@/lib/pipelines/definition";

// CodeMirror measures the DOM: it renders in the browser only.
const YamlEditor = dynamic(() => import("@/app/(dashboard)/pipelines/yaml-editor").then((module) => module.YamlEditor), {
  ssr: false,
  loading: () => <div className="h-[420px] animate-pulse rounded-md bg-slate-100" />,
});

/**
 * Edits a pipeline's YAML: live validation with line and column, then save (create or update). Without
 * write access (`canWrite` false) the YAML is shown read-only, still checked, with no save button.
 */
export function PipelineEditor({ name, initialText, canWrite }: { name?: string; initialText: string; canWrite: boolean }) {
  const router = useRouter();
  const [text, setText] = useState(initialText);
  const [issues, setIssues] = useState<PipelineIssue[]>([]);
  const [saveError, setSaveError] = useState<{ message: string; issues?: PipelineIssue[] } | null>(null);
  const [saved, setSaved] = useState(false);
  const [savedText, setSavedText] = useState(initialText);
  const [pending, startTransition] = useTransition();
  const unsaved = canWrite && text !== savedText;

  // Closing the tab or reloading with unsaved edits asks first (the browser's own prompt).
  useEffect(() => {
    if (!unsaved) return;
    const warn = (event: BeforeUnloadEvent) => event.preventDefault();
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [unsaved]);

  const validate = useCallback(async (value: string) => {
    const result = await validatePipelineAction({ text: value });
    return result.ok ? result.data.errors : null;
  }, []);
  const shown = saveError?.issues ?? issues;

  return (
    <div>
      <YamlEditor
        value={text}
        onChange={(value) => {
          setText(value);
          setSaved(false);
          setSaveError(null);
        }}
        validate={validate}
        onIssues={setIssues}
        readOnly={!canWrite}
      />
      <div className="mt-3 min-h-6" aria-live="polite">
        {shown.length > 0 ? (
          <ul className="space-y-1 text-sm text-red-700" aria-label="Validation errors">
            {shown.map((issue, index) => (
              <li key={index}>
                {issue.line !== null ? `Line ${issue.line}, column ${issue.column}: ` : ""}
                {issue.path ? <code className="mr-1">{issue.path}</code> : null}
                {issue.message}
              </li>
            ))}
          </ul>
        ) : saveError ? null : (
          <p className="text-sm text-emerald-700">{saved ? "Saved to the database and to the pipelines volume." : "No problems found."}</p>
        )}
        {saveError && (
          <p role="alert" className="text-sm font-medium text-red-700">
            {saveError.message}
          </p>
        )}
      </div>
      <div className="mt-3 flex gap-2">
        {canWrite ? (
          <Button
            type="button"
            disabled={pending}
            onClick={() =>
              startTransition(async () => {
                const check = await validatePipelineAction({ text });
                if (check.ok && !check.data.valid) {
                  setIssues(check.data.errors);
                  setSaveError({ message: "Fix the problems above before saving", issues: check.data.errors });
                  return;
                }
                const result = await savePipelineAction({ text, name });
                if (!result.ok) {
                  setSaveError({ message: result.error.message });
                  return;
                }
                setSaved(true);
                setSavedText(text);
                setSaveError(null);
                if (!name) router.push(`/pipelines/${encodeURIComponent(result.data.name)}`);
                else router.refresh();
              })
            }
          >
            {pending ? "Saving…" : name ? "Save" : "Create pipeline"}
          </Button>
        ) : (
          <p className="text-xs text-slate-500">Needs write access.</p>
        )}
      </div>
    </div>
  );
}
