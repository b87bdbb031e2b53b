import { NotBuiltYet } from "@/app/_components/ui/not-built";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Pipelines" };

export default async function PipelinesPage() {
  await requirePagePrincipal("read");
  return (
    <>
      <PageHeader title="Pipelines" />
      <NotBuiltYet what="The pipeline YAML editor with validation" issue={3} guideSection="Pipelines" />
    </>
  );
}
