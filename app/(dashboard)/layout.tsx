import { AlertBanner } from "@/app/(dashboard)/alert-banner";
import { NavLinks } from "@/app/_components/nav-links";
import { SignOutButton } from "@/app/login/sign-out-button";
import { requirePagePrincipal } from "@/lib/pages";
import { listAlerts } from "@/lib/storage/alerts";

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const principal = await requirePagePrincipal();
  const alerts = await listAlerts();
  return (
    <div className="flex min-h-screen">
      <aside className="flex w-56 shrink-0 flex-col bg-slate-900 px-3 py-5">
        <div className="mb-6 px-3">
          <div className="text-sm font-semibold text-white">Mimir AIP</div>
          <div className="text-xs text-slate-400">persistence console</div>
        </div>
        <NavLinks />
        <div className="mt-auto border-t border-slate-800 px-3 pt-4 text-xs text-slate-400">
          <div>
            Signed in as <span className="font-medium text-slate-200">{principal.name}</span> ({principal.role})
          </div>
          <SignOutButton />
        </div>
      </aside>
      <main className="min-w-0 flex-1 px-8 py-8">
        <AlertBanner initialData={alerts} />
        {children}
      </main>
    </div>
  );
}
