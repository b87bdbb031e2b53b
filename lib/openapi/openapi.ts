import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";

const openApiDocument = z
  .object({
    openapi: z.string(),
    info: z.object({ title: z.string(), version: z.string() }).loose(),
    components: z.record(z.string(), z.unknown()),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .loose();

/** The document's own route. */
export const OPENAPI_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/openapi.json",
    summary: "This document: every /api/v1 route with its parameters, bodies, answers and the scope it requires (x-required-scope); readable without a token",
    tag: "API",
    access: "public",
    responses: { 200: { description: "The OpenAPI 3.0 document", schema: openApiDocument } },
  },
];
