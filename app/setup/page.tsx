import { redirect } from "next/navigation";
import { CredentialsForm } from "@/app/login/credentials-form";
import { setupAction } from "@/app/login/actions";
import { AuthShell } from "@/app/login/auth-shell";
import { hasAnyUser } from "@/lib/auth/service";

export const dynamic = "force-dynamic";
export const metadata = { title: "First-run setup" };

export default async function SetupPage() {
  if (await hasAnyUser()) redirect("/login");
  return (
    <AuthShell title="Create the admin account" subtitle="No user exists yet. The first account can do everything, including restore and reset.">
      <CredentialsForm action={setupAction} submitLabel="Create admin and sign in" passwordHint="At least 12 characters." />
    </AuthShell>
  );
}
