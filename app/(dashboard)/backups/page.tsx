import { NotBuiltYet } from "@/app/_components/ui/not-built";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Backups" };

export default async function BackupsPage() {
  await requirePagePrincipal("read");
  return (
    <>
      <PageHeader title="Backups" />
      <NotBuiltYet what="One-click backups, verification and restore" issue={4} guideSection="Backup and Restore" />
    </>
  );
}
