import { AlertBanner } from "@/app/(dashboard)/alert-banner";
import { NavLinks } from "@/app/_components/nav-links";
import { Sidebar } from "@/app/(dashboard)/sidebar";
import { SignOutButton } from "@/app/login/sign-out-button";
import { requirePagePrincipal } from "@/lib/pages";
import { listAlerts } from "@/lib/storage/alerts";

export default async function DashboardLayout({ children }: { children: React.ReactNode }) {
  const principal = await requirePagePrincipal();
  const alerts = await listAlerts();
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <Sidebar>
        <div className="mb-6 hidden px-3 md:block">
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
      </Sidebar>
      <main className="min-w-0 flex-1 px-4 py-6 md:px-8 md:py-8">
        <AlertBanner initialData={alerts} />
        {children}
      </main>
    </div>
  );
}
