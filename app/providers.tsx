"use client";

import { QueryCache, QueryClient, QueryClientProvider, isServer } from "@tanstack/react-query";
import { useState } from "react";
import { z } from "zod";
import { isAppError } from "@/lib/errors";
import { signInAgainHref } from "@/lib/sign-in-next";

// zod compiles object parsers with `new Function` after probing whether eval works; the page's
// Content-Security-Policy forbids eval, so the probe would be reported as a violation on every page
// that validates a form. The interpreted parsers are fast enough for forms.
if (!isServer) z.config({ jitless: true });

/** Not worth retrying: the answer will be the same until someone signs in or is given the scope. */
const FINAL_CODES = new Set(["unauthorized", "forbidden", "not_found"]);

function makeQueryClient() {
  return new QueryClient({
    // A session that ended (expired, signed out elsewhere, or a restore brought back the sessions of
    // its time) would otherwise leave every open page polling into 401s: go and sign in again, and
    // come back here afterwards.
    queryCache: new QueryCache({
      onError: (error) => {
        if (!isServer && isAppError(error) && error.code === "unauthorized") window.location.assign(signInAgainHref(window.location));
      },
    }),
    defaultOptions: {
      queries: {
        // Server-rendered initialData is fresh for a few seconds; refetching it at once would double the work.
        staleTime: 5_000,
        refetchOnWindowFocus: true,
        retry: (failures, error) => !(isAppError(error) && FINAL_CODES.has(error.code)) && failures < 3,
      },
    },
  });
}

let browserQueryClient: QueryClient | undefined;

/** One client per request on the server, one for the page's life in the browser. */
function getQueryClient() {
  if (isServer) return makeQueryClient();
  browserQueryClient ??= makeQueryClient();
  return browserQueryClient;
}

export function Providers({ children }: { children: React.ReactNode }) {
  const [client] = useState(getQueryClient);
  return <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}
