import { z } from "zod";
import type { ApiRoute } from "@/lib/openapi-registry";
import { updateConfigInput, type ConfigUpdateResult, type ConfigView } from "@/lib/config/edit";

const TAG = "Configuration";

const configView = z
  .object({
    config_file: z.string(),
    config_file_exists: z.boolean(),
    /** every effective value by dotted key; secrets are "********" when set, "" when not */
    values: z.record(z.string(), z.unknown()),
    /** where each value came from: "default", "file:<path>" or "env:<VARIABLE>" */
    sources: z.record(z.string(), z.string()),
    editable: z.array(
      z
        .object({
          key: z.string(),
          label: z.string(),
          unit: z.string().optional(),
          kind: z.literal("flag").optional(),
          apply: z.enum(["live", "restart"]),
          note: z.string(),
          overridden_by: z.string().nullable(),
          secret: z.boolean(),
        })
        .loose(),
    ),
  })
  .loose() satisfies z.ZodType<ConfigView>;

const updateResult = z
  .object({
    changed: z.array(z.object({ key: z.string(), apply: z.enum(["live", "restart"]), note: z.string() })),
    restart_required: z.boolean(),
    config: configView,
  })
  .loose() satisfies z.ZodType<ConfigUpdateResult>;

const invalid = { 422: { description: "The resulting configuration would not be valid (code config_invalid; details list every problem); nothing changed" } };

/** The configuration routes, for the OpenAPI document. */
export const CONFIG_API: ApiRoute[] = [
  {
    method: "get",
    path: "/api/v1/config",
    summary:
      "The effective configuration (Mimir AIP's config endpoint): every value by dotted key with where it came from (default, file, env), secrets masked, and the settings PUT may change",
    tag: TAG,
    access: "admin",
    responses: { 200: { description: "The configuration", schema: configView } },
  },
  {
    method: "put",
    path: "/api/v1/config",
    summary:
      "Write runtime overrides into config.yaml (atomically, comments and Mimir's own keys kept) and reload; the answer says which changes apply now and which at the next restart",
    tag: TAG,
    access: "admin",
    body: updateConfigInput,
    responses: {
      200: { description: "What changed and how it applies, and the configuration after", schema: updateResult },
      409: { description: "An environment variable sets one of the keys and would win (code env_override; details name the key and variable)" },
      ...invalid,
    },
  },
  {
    method: "post",
    path: "/api/v1/config/reload",
    summary: "Re-read config.yaml and the environment after an edit by hand; a file that does not validate is refused and the running configuration stays",
    tag: TAG,
    access: "admin",
    responses: { 200: { description: "Every value that changed and how it applies, and the configuration after", schema: updateResult }, ...invalid },
  },
];
