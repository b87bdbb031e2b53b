import { Card } from "@/app/_components/ui/card";
import type { PluginInfo } from "@/lib/scheduler/plugin-catalog";

/**
 * The plugins a step may name, beside the editor: each built-in with what it does and every setting
 * its `config:` takes (read from the same schema a run checks), then the executables found in the
 * plugins volume.
 */
export function PluginHelp({ plugins }: { plugins: PluginInfo[] }) {
  const builtins = plugins.filter((plugin) => plugin.kind === "built-in");
  const executables = plugins.filter((plugin) => plugin.kind === "executable");
  return (
    <Card title="Plugins">
      <section aria-label="Plugins a step can use" className="space-y-3 text-sm">
        <p className="text-xs text-slate-500">
          A step&apos;s <code>plugin:</code> names one of these; its <code>config:</code> takes the settings listed (anything else is refused).
        </p>
        <ul className="space-y-2">
          {builtins.map((plugin) => (
            <li key={plugin.name}>
              <details>
                <summary className="cursor-pointer font-mono text-xs text-slate-900">{plugin.name}</summary>
                <p className="mt-1 text-xs text-slate-600">{plugin.description}</p>
                {plugin.settings && plugin.settings.length > 0 ? (
                  <dl className="mt-1 space-y-1 text-xs">
                    {plugin.settings.map((setting) => (
                      <div key={setting.name}>
                        <dt className="font-mono text-slate-800">
                          {setting.name}
                          <span className="font-sans text-slate-500">
                            {" "}
                            ({setting.type}
                            {setting.required ? ", required" : setting.default !== undefined ? `, default ${JSON.stringify(setting.default)}` : ", optional"})
                          </span>
                        </dt>
                        {setting.description && <dd className="pl-3 text-slate-600">{setting.description}</dd>}
                      </div>
                    ))}
                  </dl>
                ) : (
                  <p className="mt-1 text-xs text-slate-500">No settings.</p>
                )}
              </details>
            </li>
          ))}
        </ul>
        <div>
          <h3 className="text-xs font-semibold text-slate-700">In the plugins volume</h3>
          {executables.length === 0 ? (
            <p className="text-xs text-slate-500">
              None yet. An executable there runs with the step&apos;s config and the run&apos;s context as JSON on stdin, and prints a JSON object on stdout.
            </p>
          ) : (
            <ul className="mt-1 flex flex-wrap gap-1">
              {executables.map((plugin) => (
                <li key={plugin.name} className="rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs text-slate-800">
                  {plugin.name}
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
    </Card>
  );
}
