import { NotBuiltYet } from "@/app/_components/ui/not-built";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";

export const dynamic = "force-dynamic";
export const metadata = { title: "Jobs" };

export default async function JobsPage() {
  await requirePagePrincipal("read");
  return (
    <>
      <PageHeader title="Jobs" />
      <NotBuiltYet what="Scheduled jobs with cron expressions, run now and enable/disable" issue={3} guideSection="Automated Backup with Cron" />
    </>
  );
}
