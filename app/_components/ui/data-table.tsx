import { Children, cloneElement, isValidElement, type ReactElement, type ReactNode } from "react";

export interface Column {
  label: string;
  /** numbers read best right-aligned */
  align?: "right";
  /** a column of buttons: its label is for screen readers only */
  srOnly?: boolean;
}

type RowElement = ReactElement<{ children?: ReactNode }>;
type CellElement = ReactElement<{ "data-label"?: string }>;

/**
 * Gives every cell its column's label (data-label), which the phone layout prints beside the value.
 * Rows may come as arrays or fragments, and a row's cells may include `false` for a column shown only
 * sometimes; both are flattened so the n-th cell meets the n-th shown column.
 */
function labelCells(children: ReactNode, columns: Column[]): ReactNode {
  return Children.map(children, (row) => {
    if (!isValidElement(row) || row.type !== "tr") return row;
    const cells = Children.toArray((row as RowElement).props.children);
    return cloneElement(
      row as RowElement,
      undefined,
      cells.map((cell, index) => {
        const column = columns[index];
        if (!isValidElement(cell) || !column || column.srOnly) return cell;
        return cloneElement(cell as CellElement, { "data-label": column.label });
      }),
    );
  });
}

/**
 * The one table look of the console: a quiet uppercase header, ruled rows. `columns` may hold
 * `false` for a column shown only sometimes (`isAdmin && { label: "Export" }`).
 *
 * Below `md` a table becomes a list of cards (see .data-table-cards in globals.css): each row a card,
 * each value beside its column's label, the buttons of an actions column on their own line, so
 * nothing a person must reach sits off-screen. `dense` tables of raw values (query results,
 * recovery reports) keep their columns and scroll inside their frame instead.
 */
export function DataTable({
  columns,
  children,
  label,
  dense = false,
  className = "",
}: {
  columns: (Column | false)[];
  children: ReactNode;
  /** the table's accessible name, when the page holds more than one or tests look it up */
  label?: string;
  /** smaller type, for tables of raw values (query results, recovery reports) */
  dense?: boolean;
  className?: string;
}) {
  const shown = columns.filter((column): column is Column => column !== false);
  // The frame is `relative` so the sr-only labels (absolutely positioned) are clipped by it rather than
  // widening the page. A dense table keeps about 6rem a column below `md` and scrolls inside the frame.
  const minWidth = { "--data-table-min-width": `${shown.length * 6}rem` } as React.CSSProperties;
  return (
    <div className={`relative overflow-x-auto ${dense ? "" : "data-table-cards"} ${className}`}>
      <table className={`w-full min-w-(--data-table-min-width) text-left md:min-w-0 ${dense ? "text-xs" : "text-sm"}`} style={minWidth} aria-label={label}>
        <thead className="border-b border-slate-200 text-xs uppercase tracking-wide text-slate-600">
          <tr>
            {shown.map((column) => (
              <th key={column.label} className={`py-2 pr-4 font-medium ${column.align === "right" ? "text-right" : ""}`}>
                {column.srOnly ? <span className="sr-only">{column.label}</span> : column.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{dense ? children : labelCells(children, shown)}</tbody>
      </table>
    </div>
  );
}
