import Link from "next/link";

export const metadata = { title: "Not allowed" };

export default function ForbiddenPage() {
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="max-w-md rounded-lg border border-slate-200 bg-white p-8 text-sm shadow-sm">
        <h1 className="text-xl font-semibold">Not allowed</h1>
        <p className="mt-2 text-slate-600">Your account cannot open that page. An admin can change your role.</p>
        <Link href="/" className="mt-4 inline-block font-medium text-slate-900 underline">
          Back to the overview
        </Link>
      </div>
    </main>
  );
}
