import { NotBuiltYet } from "@/app/_components/ui/not-built";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Database" };

export default async function DatabasePage() {
  await requirePagePrincipal("read");
  return (
    <>
      <PageHeader title="Database" />
      <NotBuiltYet what="Database maintenance, export, retention cleanup and recovery" issue={5} guideSection="Database Management" />
    </>
  );
}
