import { Card } from "@/app/_components/ui/card";

/** Said plainly on a section whose feature has not landed yet: nothing on it is pretend. */
export function NotBuiltYet({ what, issue, guideSection }: { what: string; issue: number; guideSection: string }) {
  return (
    <Card>
      <p className="text-sm text-slate-700">
        <strong className="font-semibold">Not built yet.</strong> {what} is planned (issue #{issue}). Until it lands, follow the
        operations guide&apos;s &ldquo;{guideSection}&rdquo; section by hand.
      </p>
    </Card>
  );
}
