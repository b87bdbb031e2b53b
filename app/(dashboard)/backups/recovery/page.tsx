import Link from "next/link";
import Markdown from "react-markdown";
import remarkGfm from "remark-gfm";
import { Card } from "@/app/_components/ui/card";
import { PageHeader } from "@/app/_components/ui/page-header";
import { requirePagePrincipal } from "@/lib/pages";
import { readRecoveryGuide } from "@/lib/backups/recovery";

export const dynamic = "force-dynamic";
export const metadata = { title: "Recovery without the app" };

// react-markdown builds React elements (never raw HTML: any in the file is shown as text), with
// GitHub tables; the classes below give it the console's look without a typography plugin.
const components = {
  h1: () => null,
  h2: (props: React.ComponentProps<"h2">) => <h2 className="mt-6 text-base font-semibold text-slate-900 first:mt-0" {...props} />,
  p: (props: React.ComponentProps<"p">) => <p className="mt-2 text-sm leading-relaxed text-slate-700" {...props} />,
  // Focusable, so a long command line that scrolls sideways can be scrolled from the keyboard.
  pre: (props: React.ComponentProps<"pre">) => (
    <pre tabIndex={0} className="mt-2 overflow-x-auto rounded-md bg-slate-900 p-3 text-xs leading-relaxed text-slate-100" {...props} />
  ),
  code: (props: React.ComponentProps<"code">) => (
    <code className="rounded bg-slate-100 px-1 text-xs text-slate-800 [pre_&]:bg-transparent [pre_&]:p-0 [pre_&]:text-slate-100" {...props} />
  ),
  table: (props: React.ComponentProps<"table">) => (
    <div className="mt-2 overflow-x-auto">
      <table className="min-w-full text-left text-sm" {...props} />
    </div>
  ),
  th: (props: React.ComponentProps<"th">) => (
    <th className="border-b border-slate-200 py-1 pr-4 text-xs font-medium uppercase tracking-wide text-slate-500" {...props} />
  ),
  td: (props: React.ComponentProps<"td">) => <td className="border-b border-slate-100 py-1 pr-4 align-top text-slate-700" {...props} />,
  ul: (props: React.ComponentProps<"ul">) => <ul className="mt-2 list-disc pl-5 text-sm text-slate-700" {...props} />,
  a: (props: React.ComponentProps<"a">) => <a className="text-sky-700 underline" {...props} />,
};

export default async function RecoveryPage() {
  await requirePagePrincipal("read");
  const { markdown, paths } = readRecoveryGuide();
  return (
    <>
      <PageHeader
        title="Recovery without the app"
        description={
          <>
            The stock commands (<code className="text-xs">gpg</code>, <code className="text-xs">tar</code>, <code className="text-xs">sqlite3</code>) that
            restore a backup set by hand, from <code className="text-xs">docs/recovery.md</code>.{" "}
            <Link href="/backups" className="font-medium text-sky-700 underline">
              Back to Backups
            </Link>
          </>
        }
      />
      <Card title="This installation's folders" className="mb-6">
        <p className="text-sm text-slate-700">
          <code className="text-xs">MIMIR_HOME</code> is <code className="break-all text-xs">{paths.home}</code>; the commands below use it.
        </p>
        {paths.folders.some((folder) => !folder.default) && (
          <p className="mt-2 text-sm text-amber-800">Some folders are set one by one, not under MIMIR_HOME: use these paths in place of $MIMIR_HOME/….</p>
        )}
        <ul className="mt-2 grid grid-cols-1 gap-1 text-xs sm:grid-cols-2">
          {paths.folders.map((folder) => (
            <li key={folder.name}>
              <span className="text-slate-500">{folder.name}:</span> <code className="break-all">{folder.path}</code>
            </li>
          ))}
        </ul>
      </Card>
      <Card>
        <article data-testid="recovery-guide">
          <Markdown remarkPlugins={[remarkGfm]} components={components}>
            {markdown}
          </Markdown>
        </article>
      </Card>
    </>
  );
}
