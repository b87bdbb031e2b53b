export interface Column {
  label: string;
  /** numbers read best right-aligned */
  align?: "right";
}

/** The one table look of the console: a scrollable frame, a quiet uppercase header, ruled rows. */
export function DataTable({ columns, children, className = "" }: { columns: (Column | false)[]; children: React.ReactNode; className?: string }) {
  return (
    <div className={`overflow-x-auto ${className}`}>
      <table className="w-full text-left text-sm">
        <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-500">
          <tr>
            {columns.filter((column): column is Column => column !== false).map((column) => (
              <th key={column.label} className={`py-2 pr-4 font-medium ${column.align === "right" ? "text-right" : ""}`}>
                {column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </div>
  );
}
