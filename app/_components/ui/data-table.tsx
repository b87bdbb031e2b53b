export interface Column {
  label: string;
  /** numbers read best right-aligned */
  align?: "right";
  /** a column of buttons: its label is for screen readers only */
  srOnly?: boolean;
}

/**
 * The one table look of the console: a scrollable frame, a quiet uppercase header, ruled rows.
 * `columns` may hold `false` for a column shown only sometimes (`isAdmin && { label: "Export" }`).
 */
export function DataTable({
  columns,
  children,
  label,
  dense = false,
  className = "",
}: {
  columns: (Column | false)[];
  children: React.ReactNode;
  /** the table's accessible name, when the page holds more than one or tests look it up */
  label?: string;
  /** smaller type, for tables of raw values (query results, recovery reports) */
  dense?: boolean;
  className?: string;
}) {
  const shown = columns.filter((column): column is Column => column !== false);
  // The frame is `relative` so the sr-only labels (absolutely positioned) are clipped by it rather than
  // widening the page. Below `md` the table keeps about 6rem a column and scrolls inside the frame,
  // instead of squeezing its text to a word per line.
  const minWidth = { "--data-table-min-width": `${shown.length * 6}rem` } as React.CSSProperties;
  return (
    <div className={`relative overflow-x-auto ${className}`}>
      <table className={`w-full min-w-(--data-table-min-width) text-left md:min-w-0 ${dense ? "text-xs" : "text-sm"}`} style={minWidth} aria-label={label}>
        <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {shown.map((column) => (
              <th key={column.label} className={`py-2 pr-4 font-medium ${column.align === "right" ? "text-right" : ""}`}>
                {column.srOnly ? <span className="sr-only">{column.label}</span> : column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </div>
  );
}
