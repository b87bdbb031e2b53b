import fs from "node:fs";

/** A server action's id from the production build, by its exported name (for direct, hostile calls). */
export function serverActionId(exportedName: string): string {
  const manifest = JSON.parse(fs.readFileSync(".next/server/server-reference-manifest.json", "utf8")) as {
    node: Record<string, { exportedName: string }>;
  };
  const entry = Object.entries(manifest.node).find(([, action]) => action.exportedName === exportedName);
  if (!entry) throw new Error(`no server action named ${exportedName} in the build`);
  return entry[0];
}
