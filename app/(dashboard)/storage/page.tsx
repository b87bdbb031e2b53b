import { NotBuiltYet } from "@/app/_components/ui/not-built";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Storage" };

export default async function StoragePage() {
  await requirePagePrincipal("read");
  return (
    <>
      <PageHeader title="Storage" />
      <NotBuiltYet what="Volume and disk usage with growth charts and alerts" issue={6} guideSection="Monitoring Disk Usage" />
    </>
  );
}
