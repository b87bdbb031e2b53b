import { z, type ZodType } from "zod";
import type { Access } from "@/lib/auth/request";

/**
 * One documented route. Capabilities list theirs in `lib/<capability>/api.ts` with the same zod
 * schemas their route handlers validate with, so the document cannot drift from the code.
 */
export interface ApiRoute {
  method: "get" | "post" | "put" | "delete";
  /** OpenAPI path template: /api/v1/scheduler/jobs/{id} */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: ZodType;
  /** content types the body is accepted in, when not only JSON (YAML pipelines) */
  bodyContentTypes?: string[];
  responses: Record<number, { description: string; schema?: ZodType; contentType?: string; linkPaging?: boolean }>;
}

const errorEnvelope = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

const ERROR_RESPONSES: Record<number, string> = {
  400: "Bad input: the envelope names the problem (code, message, details)",
  401: "No or invalid credentials",
  403: "The caller's scope does not allow this",
  413: "The body is larger than the route accepts",
};

function jsonSchema(schema: ZodType, io: "input" | "output") {
  return z.toJSONSchema(schema, { io, unrepresentable: "any", target: "openapi-3.0" });
}

function parameters(schema: z.ZodObject | undefined, location: "path" | "query") {
  if (!schema) return [];
  const json = jsonSchema(schema, "input") as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === "path" || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** The OpenAPI 3.0 document of every registered route. */
export function buildOpenApiDocument(routes: ApiRoute[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.linkPaging ? { headers: { Link: { description: 'The next page: <…?cursor=…>; rel="next"', schema: { type: "string" } } } } : {}),
        ...(response.schema || response.contentType
          ? { content: { [response.contentType ?? "application/json"]: { schema: response.schema ? jsonSchema(response.schema, "output") : { type: "string" } } } }
          : {}),
      };
    }
    for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
      if (status === "413" && !route.body) continue;
      responses[status] ??= { description, content: { "application/json": { schema: jsonSchema(errorEnvelope, "output") } } };
    }
    const body = route.body
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries((route.bodyContentTypes ?? ["application/json"]).map((type) => [type, { schema: type.includes("json") ? jsonSchema(route.body!, "input") : { type: "string" } }])),
          },
        }
      : {};
    paths[route.path] ??= {};
    paths[route.path]![route.method] = {
      summary: route.summary,
      tags: [route.tag],
      "x-required-scope": route.access,
      security: route.access === "public" ? [] : [{ bearer: [] }, { session: [] }],
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query")],
      ...body,
      responses,
    };
  }
  return {
    openapi: "3.0.3",
    info,
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API token (Settings → API tokens)" },
        session: { type: "apiKey", in: "cookie", name: "mimir_session" },
      },
    },
    paths,
  };
}
