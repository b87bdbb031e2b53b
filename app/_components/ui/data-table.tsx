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
  return (
    <div className={`overflow-x-auto ${className}`}>
      <table className={`w-full text-left ${dense ? "text-xs" : "text-sm"}`} aria-label={label}>
        <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {columns
              .filter((column): column is Column => column !== false)
              .map((column) => (
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
