"use client";

import { yaml } from "@codemirror/lang-yaml";
import { linter, lintGutter, type Diagnostic } from "@codemirror/lint";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { useMemo } from "react";
import type { PipelineIssue } from "@/lib/pipelines/definition";

/** How long typing pauses before the text is validated on the server. */
const VALIDATE_DELAY_MS = 400;

/**
 * CodeMirror 6 with YAML highlighting; `validate` runs on the server (the same parser the API uses)
 * and its problems are drawn inline at their line and column and handed to `onIssues` for the list.
 * `readOnly` shows the text (selectable, still checked) but takes no edit.
 */
export function YamlEditor({
  value,
  onChange,
  validate,
  onIssues,
  readOnly = false,
}: {
  value: string;
  onChange: (text: string) => void;
  validate: (text: string) => Promise<PipelineIssue[] | null>;
  onIssues: (issues: PipelineIssue[]) => void;
  readOnly?: boolean;
}) {
  const extensions = useMemo(
    () => [
      yaml(),
      // The editable element itself must carry the name: CodeMirror puts a wrapper's aria-label elsewhere.
      EditorView.contentAttributes.of({ "aria-label": "Pipeline YAML" }),
      lintGutter(),
      linter(
        async (view): Promise<Diagnostic[]> => {
          const issues = await validate(view.state.doc.toString());
          if (issues === null) return [];
          onIssues(issues);
          const length = view.state.doc.length;
          return issues.map((issue) => {
            const from = Math.min(issue.offset ?? 0, length);
            const line = view.state.doc.lineAt(from);
            return { from, to: Math.max(from, line.to), severity: "error", message: issue.path ? `${issue.path}: ${issue.message}` : issue.message };
          });
        },
        { delay: VALIDATE_DELAY_MS },
      ),
    ],
    [validate, onIssues],
  );
  return (
    <div className="overflow-hidden rounded-md ring-1 ring-slate-300" data-testid="yaml-editor">
      <CodeMirror value={value} onChange={onChange} extensions={extensions} readOnly={readOnly} height="420px" basicSetup={{ foldGutter: false }} />
    </div>
  );
}
