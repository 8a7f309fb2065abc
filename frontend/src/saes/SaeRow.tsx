/** One SAE: name and origin, architecture, hook, width, evaluations, its model; extract, export, delete. */
import type { SAE } from "../api/types";
import { JobProgress } from "../components/ProgressBar";
import { Button, ErrorLine, StatusPill } from "../components/ui";
import { formatCount, formatDate, formatNumber } from "../lib/format";
import { isBusy } from "../lib/status";
import { EVALS, type Json } from "./evals";
import { ExportLink } from "./ExportLink";
import { LinkModelSelect } from "./LinkModelSelect";
import { SaeOrigin } from "./SaeOrigin";
import { useDeleteSae } from "./queries";

export const SAE_COLUMNS = 7 + EVALS.length;

/** A dotted name (`blocks.6.hook_resid_post`) that may wrap after its dots, never inside a word. */
function BreakAtDots({ text }: { text: string }) {
  const parts = text.split(".");
  return (
    <span>
      {parts.map((p, i) => (
        <span key={i}>
          {p}
          {i < parts.length - 1 && (
            <>
              .<wbr />
            </>
          )}
        </span>
      ))}
    </span>
  );
}

export function SaeRow({ sae: s, onExtract }: { sae: SAE; onExtract: () => void }) {
  const remove = useDeleteSae(s.id);
  const m = (s.metrics ?? {}) as Json;
  const warnings = Array.isArray(m.warnings) ? (m.warnings as unknown[]).map(String) : [];
  const ready = s.status === "ready";
  return (
    <>
      <tr className="border-t border-slate-800 align-top" data-testid={`sae-${s.id}`}>
        <td className="min-w-[12rem] max-w-[16rem] py-2 pr-3">
          <div className="break-words font-medium text-slate-100">{s.name}</div>
          <div className="text-[11px] text-slate-500">
            {formatDate(s.created_at)} · <StatusPill status={s.status} />
          </div>
          <SaeOrigin sae={s} />
          {warnings.map((w) => (
            <div key={w} className="text-[11px] text-amber-300" data-testid="sae-warning">
              ⚠ {w}
            </div>
          ))}
        </td>
        <td className="py-2 pr-3 text-slate-300">{s.architecture ?? "–"}</td>
        <td className="py-2 pr-3 font-mono text-xs text-slate-300" title={s.hook_name ?? undefined}>
          {s.hook_name ? <BreakAtDots text={s.hook_name} /> : "–"}
        </td>
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
        <td className="py-2 pr-3">
          <LinkModelSelect sae={s} />
        </td>
        <td className="py-2 text-right">
          <div className="flex justify-end gap-1">
            <Button variant="primary" className="px-2 py-1 text-xs" disabled={!ready} onClick={onExtract} data-testid="extract-open">
              Extract features
            </Button>
            {ready && <ExportLink sae={s} />}
            <Button variant="ghost" className="px-2 py-1 text-xs text-rose-300" onClick={() => confirm(`Delete SAE ${s.name}?`) && remove.mutate(undefined)}>
              ✕
            </Button>
          </div>
        </td>
      </tr>
      {(isBusy(s.status) || s.status === "failed") && s.job_id && (
        <tr>
          <td colSpan={SAE_COLUMNS} className="pb-2">
            <JobProgress jobId={s.job_id} />
          </td>
        </tr>
      )}
      {remove.error ? (
        <tr>
          <td colSpan={SAE_COLUMNS}>
            <ErrorLine error={remove.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
