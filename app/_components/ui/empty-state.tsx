/** What a list or table shows when it has nothing: one look everywhere, saying what to do next. */
export function EmptyState({ children, testId }: { children: React.ReactNode; testId?: string }) {
  return (
    <p className="rounded-md border border-dashed border-slate-300 px-4 py-6 text-center text-sm text-slate-500" data-testid={testId}>
      {children}
    </p>
  );
}
