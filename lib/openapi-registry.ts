import { z, type ZodType } from "zod";
import type { Access } from "@/lib/auth/request";

/**
 * One documented route. Capabilities list theirs in `lib/<capability>/openapi.ts` with the same zod
 * schemas their route handlers validate with, so the document cannot drift from the code.
 */
export interface ApiRoute {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI path template: /api/v1/scheduler/jobs/{id} */
  path: string;
  summary: string;
  /** Longer notes for a script author, when the summary is not enough (what an operation's result holds). */
  description?: string;
  tag: string;
  access: Access;
  /**
   * The route is declared with `route({ reauth: true })`: a browser session repeats its password in
   * X-Mimir-Password (a token sends nothing more). The summary says so and the header is documented.
   */
  reauth?: boolean;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: ZodType;
  /** The body may be left out (integrity check's options, validate's text). */
  bodyOptional?: boolean;
  /** content types the body is accepted in, when not only JSON (YAML pipelines) */
  bodyContentTypes?: string[];
  responses: Record<number, { description: string; schema?: ZodType; contentType?: string; linkPaging?: boolean }>;
}

/** The summary's note on a `reauth` route. */
const REAUTH_NOTE = "; browser sessions repeat their password in X-Mimir-Password";

/** `{"items": […], "next_cursor": …}`: every cursor-paged list that is not one of Mimir AIP's bare arrays. */
export function pageOf<T extends ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() });
}

const errorEnvelope = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

/** Every error answers the same envelope, described once in components.schemas. */
const ERROR_REF = { $ref: "#/components/schemas/Error" };

const ERROR_RESPONSES: Record<number, string> = {
  400: "Bad input: the envelope names the problem (code, message, details)",
  401: "No or invalid credentials",
  403: "The caller's scope does not allow this",
  413: "The body is larger than the route accepts",
};

const REAUTH_ERRORS: Record<number, string> = {
  403: "The caller's scope does not allow this, or a browser session sent no or a wrong X-Mimir-Password (reauth_required, reauth_failed)",
  429: "Too many wrong passwords for this account or address; retry after Retry-After seconds",
};

const reauthHeader = {
  name: "X-Mimir-Password",
  in: "header",
  required: false,
  description: "Browser sessions only: the signed-in user's password again. A bearer token is itself the proof and sends nothing more.",
  schema: { type: "string" },
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
export function buildOpenApiDocument(routes: ApiRoute[], info: { title: string; version: string; description?: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.linkPaging ? { headers: { Link: { description: 'The next page: <…?cursor=…>; rel="next"', schema: { type: "string" } } } } : {}),
        ...(response.schema || response.contentType
          ? {
              content: {
                [response.contentType ?? "application/json"]: { schema: response.schema ? jsonSchema(response.schema, "output") : { type: "string" } },
              },
            }
          : Number(status) >= 400
            ? { content: { "application/json": { schema: ERROR_REF } } }
            : {}),
      };
    }
    for (const [status, description] of Object.entries({ ...ERROR_RESPONSES, ...(route.reauth ? REAUTH_ERRORS : {}) })) {
      if (status === "413" && !route.body) continue;
      responses[status] ??= { description, content: { "application/json": { schema: ERROR_REF } } };
    }
    const body = route.body
      ? {
          requestBody: {
            required: !route.bodyOptional,
            content: Object.fromEntries(
              (route.bodyContentTypes ?? ["application/json"]).map((type) => [
                type,
                { schema: type.includes("json") ? jsonSchema(route.body!, "input") : { type: "string" } },
              ]),
            ),
          },
        }
      : {};
    paths[route.path] ??= {};
    if (paths[route.path]![route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is registered twice`);
    paths[route.path]![route.method] = {
      summary: route.reauth ? route.summary + REAUTH_NOTE : route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      "x-required-scope": route.access,
      ...(route.reauth ? { "x-reauth": true } : {}),
      security: route.access === "public" ? [] : [{ bearer: [] }, { session: [] }],
      parameters: [...parameters(route.params, "path"), ...parameters(route.query, "query"), ...(route.reauth ? [reauthHeader] : [])],
      ...body,
      responses,
    };
  }
  return {
    openapi: "3.0.3",
    info,
    components: {
      schemas: { Error: jsonSchema(errorEnvelope, "output") },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API token (Settings → API tokens)" },
        session: { type: "apiKey", in: "cookie", name: "mimir_session" },
      },
    },
    paths,
  };
}
