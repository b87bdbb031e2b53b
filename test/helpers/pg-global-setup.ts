import type { TestProject } from "vitest/node";
import { createScratchDatabase } from "./postgres";

declare module "vitest" {
  export interface ProvidedContext {
    /** a migrated database every PostgreSQL test data root is cloned from (CREATE DATABASE … TEMPLATE) */
    pgTemplate: string;
  }
}

/**
 * Once per run of the `postgres` project: migrates a template database, so each test data root is a
 * fast clone instead of a fresh migration, and drops it at the end.
 */
export default async function setup(project: TestProject) {
  const template = await createScratchDatabase({ label: "template" });
  project.provide("pgTemplate", template.name);
  return async () => {
    await template.drop();
  };
}
