"use client";

import { useEffect, useRef } from "react";
import { useRouter } from "next/navigation";
import { LOG_POLL_MS, useExecutionLog } from "@/lib/executions/hooks";

/** The run's log file, followed while the run is in progress (like `tail -f`). */
export function LogViewer({ id }: { id: string }) {
  const router = useRouter();
  const { data, error, hasNextPage, fetchNextPage, isFetchingNextPage } = useExecutionLog(id);
  const pre = useRef<HTMLPreElement>(null);
  const last = data?.pages.at(-1);
  const text = data?.pages.map((page) => page.content).join("") ?? "";

  useEffect(() => {
    if (!hasNextPage || isFetchingNextPage) return;
    // A full chunk means more is already there; otherwise wait for the running step to write more.
    const more = last && last.content.length > 0 && last.status !== "running";
    const timer = setTimeout(() => void fetchNextPage(), more ? 0 : LOG_POLL_MS);
    return () => clearTimeout(timer);
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, last]);

  useEffect(() => {
    // The run just finished: re-read the page so the status and steps show the outcome.
    if (last?.complete && last.status !== "running") router.refresh();
  }, [last?.complete, last?.status, router]);

  useEffect(() => {
    pre.current?.scrollTo({ top: pre.current.scrollHeight });
  }, [text]);

  if (error) return <p className="text-sm text-red-700">Cannot read the log: {error.message}</p>;
  return (
    <div>
      <pre ref={pre} aria-label="Run log" tabIndex={0} className="max-h-96 overflow-auto rounded-md bg-slate-950 p-3 text-xs leading-relaxed text-slate-100">
        {data ? text || "(the log is empty)" : "loading…"}
      </pre>
      <p className="mt-1 text-xs text-slate-500">{last?.complete ? "End of log." : "Following the log while the run is in progress…"}</p>
    </div>
  );
}
