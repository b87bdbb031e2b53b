"use client";

import { useState } from "react";
import { ConfirmDialog } from "@/app/_components/confirm-dialog";
import { OperationProgress } from "@/app/_components/operation-progress";
import { formatCount } from "@/lib/format";
import type { OperationDto } from "@/lib/operations/types";
import type { MigrateToPostgresResult } from "@/lib/maintenance/types";
import { migrateToPostgresAction } from "./actions";

/**
 * The guide's "Migrating to PostgreSQL" as a button, shown while the data is in SQLite: the
 * connection string (a secret: typed into a password field, never shown back), then the password
 * again. The copy is an exclusive operation with a progress bar in rows; once verified, config.yaml
 * points at PostgreSQL and the operator restarts the console to switch.
 */
export function MigratePanel({ database, lastRun, frozenReason }: { database: string; lastRun: OperationDto | null; frozenReason: string | null }) {
  const [connectionString, setConnectionString] = useState("");
  const [operationId, setOperationId] = useState<string | null>(lastRun?.id ?? null);
  const valid = /^postgres(ql)?:\/\/\S+$/.test(connectionString.trim());

  return (
    <div className="space-y-4 text-sm">
      <p className="text-slate-700">
        Copies every table of <code className="text-xs">{database}</code> into an <strong>empty</strong> PostgreSQL 13+ database: first a check that lists every
        problem (timestamps that do not parse, rows whose job is gone, a target that is not empty) before anything is written, then one transaction that either
        holds everything, with row counts and checksums compared, or nothing. While it runs the scheduler stops and changes are refused. The SQLite file is not
        changed: it stays the way back. Scripts: <code className="text-xs">POST /api/v1/maintenance/migrate-to-postgres</code>, or with the server stopped{" "}
        <code className="text-xs">npm run mimir -- migrate-to-postgres --to &lt;url&gt;</code>.
      </p>
      {frozenReason && (
        <p className="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-amber-900" data-testid="writes-frozen">
          {frozenReason}.
        </p>
      )}
      <label className="block max-w-xl">
        <span className="mb-1 block font-medium text-slate-800">PostgreSQL connection string</span>
        <input
          type="password"
          autoComplete="off"
          spellCheck={false}
          className="w-full rounded border border-slate-300 px-2 py-1.5 font-mono text-xs"
          placeholder="postgres://mimir:password@db:5432/mimir"
          value={connectionString}
          onChange={(e) => setConnectionString(e.target.value)}
        />
        <span className="mt-1 block text-xs text-slate-500">Stored in config.yaml as persistence.connection_string (a secret: masked, never logged).</span>
      </label>
      <ConfirmDialog
        triggerLabel="Migrate to PostgreSQL…"
        triggerVariant="primary"
        title="Copy this database to PostgreSQL?"
        disabled={!valid || frozenReason !== null}
        confirmLabel="Migrate"
        consequences={
          <ul className="list-disc space-y-1 pl-5" data-testid="migrate-consequences">
            <li>The scheduler stops and every change in the console and the API is refused while the copy runs.</li>
            <li>If a check fails, nothing is written and the console carries on as before.</li>
            <li>
              Once the copy is verified, config.yaml says <code className="text-xs">persistence.backend: postgres</code>; changes stay refused until you restart
              the console, which then serves PostgreSQL.
            </li>
            <li>The SQLite file is kept as it is; the vector database stays a file in mimir_data.</li>
          </ul>
        }
        onConfirm={(password) => migrateToPostgresAction({ connection_string: connectionString, reauth_password: password })}
        onDone={(started) => {
          setConnectionString("");
          setOperationId(started.id);
        }}
      />
      {operationId && (
        <OperationProgress
          id={operationId}
          label="Migration to PostgreSQL"
          initialData={lastRun && lastRun.id === operationId ? lastRun : undefined}
          renderResult={(op) => {
            const result = op.result as MigrateToPostgresResult;
            return (
              <div data-testid="migrate-result" className="space-y-2">
                <p>
                  Copied and verified {formatCount(result.rows)} rows into <code className="text-xs">{result.target}</code> in {result.seconds.toFixed(1)} s.{" "}
                  <strong>Restart the console to switch to PostgreSQL</strong>: until then it refuses changes, so none is left behind in the SQLite file.
                </p>
                <table className="text-xs">
                  <thead>
                    <tr className="text-left text-slate-500">
                      <th className="pr-4 font-medium">Table</th>
                      <th className="pr-4 text-right font-medium">Rows</th>
                      <th className="pr-4 font-medium">Checksum (SQLite = PostgreSQL)</th>
                    </tr>
                  </thead>
                  <tbody>
                    {result.tables.map((t) => (
                      <tr key={t.table} data-table={t.table}>
                        <td className="pr-4 font-mono">{t.table}</td>
                        <td className="pr-4 text-right tabular-nums">{formatCount(t.targetRows)}</td>
                        <td className="pr-4 font-mono">
                          {t.targetChecksum} {t.ok ? "✓" : "✗"}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        />
      )}
    </div>
  );
}
