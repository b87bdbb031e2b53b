import Link from "next/link";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { PipelineEditor } from "@/app/(dashboard)/pipelines/pipeline-editor";
import { requirePagePrincipal } from "@/lib/pages";
import { scopeAllows } from "@/lib/auth/scopes";
import { listPlugins } from "@/lib/scheduler/plugin-catalog";
import { PluginHelp } from "@/app/(dashboard)/pipelines/plugin-help";

export const dynamic = "force-dynamic";
export const metadata = { title: "New pipeline" };

const TEMPLATE = `name: my-pipeline
description: What this pipeline does
steps:
  - name: notify
    plugin: System.webhook
    config:
      url: https://example.invalid/hook
`;

export default async function NewPipelinePage() {
  // Readers get the page too, saying why there is no editor, rather than the bare "Not allowed" page.
  const principal = await requirePagePrincipal("read");
  const canWrite = scopeAllows(principal.scope, "write");
  return (
    <>
      <PageHeader
        title="New pipeline"
        description="Mimir AIP's pipeline format: a name, a description and steps, each running a plugin (System.* built-ins, or an executable in the plugins volume). Saved as <name>.yaml in the pipelines volume."
      />
      <div className="grid grid-cols-1 gap-6 lg:grid-cols-3">
        <Card className="lg:col-span-2">
          {canWrite ? (
            <PipelineEditor initialText={TEMPLATE} canWrite />
          ) : (
            <p className="text-sm text-slate-600" data-testid="needs-write">
              Creating a pipeline needs write access; your account can read pipelines but not add them. An admin can change your role.{" "}
              <Link href="/pipelines" className="font-medium text-sky-700 underline">
                Back to the pipelines
              </Link>
            </p>
          )}
        </Card>
        <PluginHelp plugins={listPlugins()} />
      </div>
    </>
  );
}
