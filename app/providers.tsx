"use client";

import { QueryClient, QueryClientProvider, isServer } from "@tanstack/react-query";
import { useState } from "react";

function makeQueryClient() {
  // Server-rendered initialData is fresh for a few seconds; refetching it at once would double the work.
  return new QueryClient({ defaultOptions: { queries: { staleTime: 5_000, refetchOnWindowFocus: true } } });
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
