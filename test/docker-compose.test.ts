import fs from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, test } from "vitest";
import { SERVER_NODE_FLAGS } from "@/scripts/server-flags.mjs";

/**
 * The compose files and the Dockerfile, read as a user's docker-compose would read them: every
 * service mounts the guide's five named volumes, declares every named volume it uses, and the
 * PostgreSQL deployment waits for a healthy database and points the console at it.
 */

const root = path.join(import.meta.dirname, "..");
const VOLUMES = ["mimir_data", "mimir_logs", "mimir_config", "mimir_plugins", "mimir_pipelines"];

interface ComposeService {
  image?: string;
  build?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; retries?: number };
  ports?: string[];
  expose?: string[];
  deploy?: { replicas?: number };
  container_name?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

function readCompose(name: string): ComposeFile {
  return parse(fs.readFileSync(path.join(root, name), "utf8"), { strict: true, uniqueKeys: true }) as ComposeFile;
}

function namedVolumes(service: ComposeService): string[] {
  return (service.volumes ?? []).map((mount) => mount.split(":")[0] ?? "").filter((source) => !source.startsWith(".") && !source.startsWith("/"));
}

describe.each(["docker-compose.unified.yml", "docker-compose.postgres.yml"])("%s", (name) => {
  test("mounts the five volumes under /app, declares every named volume it uses, and builds the console image", () => {
    const compose = readCompose(name);
    const consoles = Object.values(compose.services).filter((service) => service.build === ".");
    expect(consoles).toHaveLength(1);
    const mounts = consoles[0]?.volumes ?? [];
    for (const volume of VOLUMES) expect(mounts).toContain(`${volume}:/app/${volume.replace("mimir_", "")}`);
    expect(mounts).toContain("./backups:/app/backups");
    const used = Object.values(compose.services).flatMap(namedVolumes);
    expect(Object.keys(compose.volumes).sort()).toEqual([...new Set(used)].sort());
  });
});

describe("docker-compose.postgres.yml", () => {
  const compose = readCompose("docker-compose.postgres.yml");
  const postgres = compose.services.postgres;
  const consoleService = compose.services["mimir-aip"];

  test("has a postgres service on a named volume with a healthcheck, not published on the host", () => {
    expect(postgres?.image).toMatch(/^postgres:1[3-9]/);
    expect(postgres?.volumes).toEqual(["mimir_postgres:/var/lib/postgresql/data"]);
    expect(postgres?.healthcheck?.test.join(" ")).toMatch(/pg_isready -U mimir -d mimir/);
    expect(postgres?.ports).toBeUndefined();
    // No default password: compose refuses to start without one.
    expect(postgres?.environment?.POSTGRES_PASSWORD).toMatch(/^\$\{MIMIR_POSTGRES_PASSWORD:\?/);
  });

  test("points the console at it and starts it once the database is healthy", () => {
    expect(consoleService?.depends_on).toEqual({ postgres: { condition: "service_healthy" } });
    const env = consoleService?.environment ?? {};
    expect(env.MIMIR_PERSISTENCE_BACKEND).toBe("postgres");
    const url = new URL((env.MIMIR_CONNECTION_STRING ?? "").replace("${MIMIR_POSTGRES_PASSWORD}", "secret"));
    expect(url.protocol).toBe("postgres:");
    expect(url.hostname).toBe("postgres");
    expect(url.username).toBe(postgres?.environment?.POSTGRES_USER);
    expect(url.pathname).toBe(`/${postgres?.environment?.POSTGRES_DB}`);
    expect(env.MIMIR_VECTOR_DB_PATH).toBe("/app/data/chromem.db");
  });

  test("runs two console replicas on shared volumes behind one published port (nginx)", () => {
    expect(consoleService?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    // Replicas cannot share a container name or a host port; only the proxy publishes one.
    expect(consoleService?.container_name).toBeUndefined();
    expect(consoleService?.ports).toBeUndefined();
    expect(consoleService?.expose).toEqual(["8080"]);
    const proxy = compose.services.proxy;
    expect(proxy?.image).toMatch(/^nginx:/);
    expect(proxy?.ports).toEqual(["8080:8080"]);
    const [source, target] = (proxy?.volumes?.[0] ?? "").split(":");
    expect(target).toBe("/etc/nginx/conf.d/default.conf");
    const conf = fs.readFileSync(path.join(root, source!), "utf8");
    // The upstream is the console service by name: Docker's DNS answers with every replica.
    expect(conf).toMatch(/upstream mimir_console \{\s*server mimir-aip:8080\b/);
    expect(conf).toMatch(/proxy_pass http:\/\/mimir_console;/);
    // Braces balance: a truncated edit would stop nginx at start.
    expect(conf.split("{").length).toBe(conf.split("}").length);
    expect(consoleService?.environment?.MIMIR_TRUST_PROXY).toBe("true");
  });
});

describe("Dockerfile", () => {
  const dockerfile = fs.readFileSync(path.join(root, "Dockerfile"), "utf8");

  test("the image starts the server with the same Node flags as npm start", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(cmd!)).toEqual(["node", ...SERVER_NODE_FLAGS, "server.js"]);
  });

  test("the runtime image carries psql for the PostgreSQL recovery recipes and the migrations", () => {
    const runtime = dockerfile.slice(dockerfile.indexOf("AS runtime"));
    expect(runtime).toMatch(/apt-get install[^\n]*\bpostgresql-client\b/);
    expect(runtime).toContain("COPY --from=build --chown=root:root /src/drizzle ./drizzle");
  });

  test("the image builds our malloc_trim addon with npm ci, inside node_modules", () => {
    const deps = dockerfile.slice(dockerfile.indexOf("AS deps"), dockerfile.indexOf("AS build"));
    const ci = deps.indexOf("RUN npm ci");
    // npm ci copies file:native/malloc-trim into node_modules (.npmrc install-links) and builds it there,
    // so the source and the setting must be in the stage before it runs; the build stage takes node_modules whole.
    expect(deps.indexOf("COPY native ./native")).toBeGreaterThan(-1);
    expect(deps.indexOf("COPY native ./native")).toBeLessThan(ci);
    expect(deps).toMatch(/^COPY package\.json package-lock\.json \.npmrc \.\/$/m);
    expect(fs.readFileSync(path.join(root, ".npmrc"), "utf8")).toMatch(/^install-links=true$/m);
  });

  test("the PostgreSQL driver needs no native build: pg and pg-copy-streams are plain JavaScript", () => {
    for (const name of ["pg", "pg-copy-streams"]) {
      const manifest = JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8")) as {
        gypfile?: boolean;
        scripts?: Record<string, string>;
      };
      expect(manifest.gypfile).toBeUndefined();
      expect(manifest.scripts?.install).toBeUndefined();
    }
  });
});
