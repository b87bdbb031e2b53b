import { redirect } from "next/navigation";
import { CredentialsForm } from "@/app/login/credentials-form";
import { signInAction } from "@/app/login/actions";
import { hasAnyUser } from "@/lib/auth/service";
import { AuthShell } from "@/app/login/auth-shell";
import { safeNextPath } from "@/lib/sign-in-next";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  if (!(await hasAnyUser())) redirect("/setup");
  const next = safeNextPath((await searchParams).next);
  return (
    <AuthShell title="Sign in" subtitle="Mimir AIP persistence console">
      {next !== "/" && (
        <p className="mb-4 text-sm text-slate-600">
          Sign in to continue to <span className="font-mono text-xs">{next}</span>.
        </p>
      )}
      <CredentialsForm action={signInAction} submitLabel="Sign in" next={next} />
    </AuthShell>
  );
}
