"use client";

import { usePathname } from "next/navigation";
import { useEffect, useRef, useState } from "react";

const SIDEBAR_ID = "dashboard-sidebar";

/**
 * The dashboard's sidebar. From `md` up it is the fixed column it always was; below that it folds
 * into a top bar whose menu button opens it over the page. It closes again on navigation (a link
 * inside it is followed, or the path changes) and on Escape.
 */
export function Sidebar({ children }: { children: React.ReactNode }) {
  const pathname = usePathname();
  const button = useRef<HTMLButtonElement>(null);
  // The path the menu was opened on: navigating elsewhere closes it without an effect.
  const [openOn, setOpenOn] = useState<string | null>(null);
  const open = openOn === pathname;

  useEffect(() => {
    if (!open) return;
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      setOpenOn(null);
      button.current?.focus();
    };
    document.addEventListener("keydown", onKeyDown);
    return () => document.removeEventListener("keydown", onKeyDown);
  }, [open]);

  return (
    <>
      <header className="sticky top-0 z-40 flex h-14 shrink-0 items-center justify-between gap-3 bg-slate-900 px-4 md:hidden">
        <div className="min-w-0 truncate text-sm font-semibold text-white">
          Mimir AIP <span className="font-normal text-slate-400">persistence console</span>
        </div>
        <button
          ref={button}
          type="button"
          aria-expanded={open}
          aria-controls={SIDEBAR_ID}
          onClick={() => setOpenOn(open ? null : pathname)}
          className="-mr-1.5 inline-flex items-center gap-1.5 rounded-md px-2 py-1.5 text-sm font-medium text-slate-200 hover:bg-slate-800 hover:text-white focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-white"
        >
          <svg aria-hidden="true" viewBox="0 0 20 20" fill="none" stroke="currentColor" strokeWidth="1.75" strokeLinecap="round" className="h-5 w-5">
            {open ? <path d="M5 5l10 10M15 5L5 15" /> : <path d="M3 5.5h14M3 10h14M3 14.5h14" />}
          </svg>
          Menu
        </button>
      </header>
      <aside
        id={SIDEBAR_ID}
        onClick={(event) => {
          if ((event.target as HTMLElement).closest("a")) setOpenOn(null);
        }}
        className={`${open ? "flex" : "hidden"} fixed inset-x-0 top-14 bottom-0 z-40 flex-col overflow-y-auto bg-slate-900 px-3 py-5 md:static md:z-auto md:flex md:w-56 md:shrink-0 md:overflow-visible`}
      >
        {children}
      </aside>
    </>
  );
}
