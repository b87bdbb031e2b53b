import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { PipelineEditor } from "@/app/(dashboard)/pipelines/pipeline-editor";
import { requirePagePrincipal } from "@/lib/pages";

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
  await requirePagePrincipal("write");
  return (
    <>
      <PageHeader
        title="New pipeline"
        description="Mimir AIP's pipeline format: a name, a description and steps, each running a plugin (System.* built-ins, or an executable in the plugins volume). Saved as <name>.yaml in the pipelines volume."
      />
      <Card>
        <PipelineEditor initialText={TEMPLATE} />
      </Card>
    </>
  );
}
