import { redirect } from "next/navigation";
import { CredentialsForm } from "@/app/login/credentials-form";
import { signInAction } from "@/app/login/actions";
import { hasAnyUser } from "@/lib/auth/service";
import { AuthShell } from "@/app/login/auth-shell";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function LoginPage() {
  if (!(await hasAnyUser())) redirect("/setup");
  return (
    <AuthShell title="Sign in" subtitle="Mimir AIP persistence console">
      <CredentialsForm action={signInAction} submitLabel="Sign in" />
    </AuthShell>
  );
}
