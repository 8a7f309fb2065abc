/** One SAE: architecture, hook, width, evaluations, extract and delete. */
import type { SAE } from "../api/types";
import { Button, ErrorLine, StatusPill } from "../components/ui";
import { formatCount, formatDate, formatNumber } from "../lib/format";
import { EVALS, type Json } from "./evals";
import { useDeleteSae } from "./queries";

export function SaeRow({ sae: s, onExtract }: { sae: SAE; onExtract: () => void }) {
  const remove = useDeleteSae(s.id);
  const m = (s.metrics ?? {}) as Json;
  const warnings = Array.isArray(m.warnings) ? (m.warnings as unknown[]).map(String) : [];
  return (
    <>
      <tr className="border-t border-slate-800" data-testid={`sae-${s.id}`}>
        <td className="py-2 pr-3">
          <div className="font-medium text-slate-100">{s.name}</div>
          <div className="text-[11px] text-slate-500">
            {formatDate(s.created_at)} · <StatusPill status={s.status} />
          </div>
          {warnings.map((w) => (
            <div key={w} className="text-[11px] text-amber-300" data-testid="sae-warning">
              ⚠ {w}
            </div>
          ))}
        </td>
        <td className="py-2 pr-3 text-slate-300">{s.architecture ?? "–"}</td>
        <td className="py-2 pr-3 font-mono text-xs text-slate-300">{s.hook_name ?? "–"}</td>
        <td className="py-2 pr-3 text-right font-mono text-xs">{formatCount(s.d_in)}</td>
        <td className="py-2 pr-3 text-right font-mono text-xs">{formatCount(s.d_sae)}</td>
        {EVALS.map((e) => {
          const v = e.read(m);
          return (
            <td key={e.label} className="py-2 pr-3 text-right font-mono text-xs text-slate-300">
              {v === undefined ? "–" : e.percent ? `${formatNumber(v * 100, 3)}%` : formatNumber(v)}
            </td>
          );
        })}
        <td className="py-2 pr-3 text-xs text-slate-400">{s.origin}</td>
        <td className="py-2 text-right">
          <div className="flex justify-end gap-1">
            <Button variant="primary" className="px-2 py-1 text-xs" onClick={onExtract} data-testid="extract-open">
              Extract features
            </Button>
            <Button variant="ghost" className="px-2 py-1 text-xs text-rose-300" onClick={() => confirm(`Delete SAE ${s.name}?`) && remove.mutate(undefined)}>
              ✕
            </Button>
          </div>
        </td>
      </tr>
      {remove.error ? (
        <tr>
          <td colSpan={13}>
            <ErrorLine error={remove.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
