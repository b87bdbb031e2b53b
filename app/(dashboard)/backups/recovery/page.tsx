import Link from "next/link";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";
import { readRecoveryGuide } from "@/lib/backups/recovery";

export const dynamic = "force-dynamic";
export const metadata = { title: "Recovery without the app" };

export default async function RecoveryPage() {
  await requirePagePrincipal("read");
  const guide = readRecoveryGuide();
  return (
    <>
      <PageHeader
        title="Recovery without the app"
        description={
          <>
            The stock commands (<code className="text-xs">gpg</code>, <code className="text-xs">tar</code>, <code className="text-xs">sqlite3</code>) that restore a
            backup set by hand, from <code className="text-xs">docs/recovery.md</code>.{" "}
            <Link href="/backups" className="font-medium text-sky-700 underline">
              Back to Backups
            </Link>
          </>
        }
      />
      <Card>
        <pre className="overflow-x-auto whitespace-pre-wrap text-xs leading-relaxed text-slate-800" data-testid="recovery-guide">
          {guide}
        </pre>
      </Card>
    </>
  );
}
