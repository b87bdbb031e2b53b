import { NotBuiltYet } from "@/app/_components/ui/not-built";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Executions" };

export default async function ExecutionsPage() {
  await requirePagePrincipal("read");
  return (
    <>
      <PageHeader title="Executions" />
      <NotBuiltYet what="Execution history with filters, steps, logs and charts" issue={3} guideSection="Direct SQLite Access" />
    </>
  );
}
