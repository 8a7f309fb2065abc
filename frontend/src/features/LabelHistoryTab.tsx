/**
 * The History tab of a latent: every label it has had (runs, hand edits, relabels), newest first,
 * with method, model, template, scores, who set it and when; the current one marked. Tick two to
 * compare them side by side; "Make current" puts an older label back (the feature's label,
 * scores and the browser follow it; nothing is deleted).
 */
import clsx from "clsx";
import { useState } from "react";
import type { Feature } from "../api/types";
import { Button, Empty, ErrorLine } from "../components/ui";
import { formatDate, formatNumber } from "../lib/format";
import { LabelCompare } from "./LabelCompare";
import { type LabelVersion, methodText, setBy, templateText, useLabelHistory, useMakeCurrent, versionText } from "./labelHistory";
import { Loading } from "./Loading";

export function LabelHistoryTab({ feature, onChanged }: { feature: Feature; onChanged?: (f: Feature) => void }) {
  const history = useLabelHistory(feature);
  const makeCurrent = useMakeCurrent(feature, onChanged);
  const [picked, setPicked] = useState<number[]>([]);
  if (history.error) return <ErrorLine error={history.error} />;
  if (!history.data) return <Loading />;
  const versions = history.data;
  if (versions.length === 0)
    return <Empty>No label yet. Every label this latent gets, from a labelling run or typed above, is kept here.</Empty>;
  const chosen = versions.filter((v) => picked.includes(v.id));
  const toggle = (v: LabelVersion) =>
    setPicked((p) => (p.includes(v.id) ? p.filter((id) => id !== v.id) : [...p, v.id].slice(-2)));
  return (
    <div className="space-y-3" data-testid="label-history">
      <div className="overflow-x-auto rounded-md border border-slate-800">
        {/* Fixed columns add up to ~35rem; the label takes the rest (at least 16rem: the table
            scrolls sideways before a label is squeezed into a column of letters). */}
        <table className="w-full min-w-[51rem] table-fixed text-sm">
          <colgroup>
            <col className="w-9" />
            <col />
            <col className="w-40" />
            <col className="w-12" />
            <col className="w-12" />
            <col className="w-12" />
            <col className="w-28" />
            <col className="w-28" />
          </colgroup>
          <thead className="bg-slate-900/60 text-left text-[11px] uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-2 py-1.5 font-medium" title="tick two to compare">⇄</th>
              <th className="px-2 py-1.5 font-medium">Label</th>
              <th className="px-2 py-1.5 font-medium">Method · template</th>
              <th className="px-1 py-1.5 text-right font-medium" title="detection balanced accuracy">Det.</th>
              <th className="px-1 py-1.5 text-right font-medium" title="fuzzing balanced accuracy">Fuzz.</th>
              <th className="px-1 py-1.5 text-right font-medium" title="mean of detection and fuzzing">Score</th>
              <th className="px-2 py-1.5 font-medium">Set by · when</th>
              <th className="px-2 py-1.5" />
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
              <tr
                key={v.id}
                className={clsx("border-t border-slate-800/60 align-top", v.is_current && "bg-emerald-500/5")}
                data-testid="label-version"
                data-version-id={v.id}
                data-current={v.is_current ? "true" : "false"}
              >
                <td className="px-2 py-1.5">
                  <input
                    type="checkbox"
                    aria-label={`compare version ${v.id}`}
                    checked={picked.includes(v.id)}
                    onChange={() => toggle(v)}
                    data-testid="label-version-pick"
                  />
                </td>
                <td className="px-2 py-1.5">
                  <div className={clsx("break-words", v.label ? "text-slate-100" : "italic text-slate-500")} data-testid="label-version-text">
                    {versionText(v)}
                  </div>
                  {v.category && (
                    <div className="truncate text-[11px] text-slate-500" title={v.category}>
                      {v.category}
                    </div>
                  )}
                </td>
                <td className="px-2 py-1.5 text-xs">
                  <div className="truncate text-slate-300" title={methodText(v)} data-testid="label-version-method">
                    {methodText(v)}
                  </div>
                  {v.template && (
                    <div className="truncate text-[11px] text-slate-500" title={v.template_hash ? `${v.template} (sha256 ${v.template_hash}…)` : (v.template ?? undefined)}>
                      {templateText(v)}
                    </div>
                  )}
                </td>
                <td className="px-1 py-1.5 text-right font-mono text-xs text-slate-300">{formatNumber(v.detection_score, 2)}</td>
                <td className="px-1 py-1.5 text-right font-mono text-xs text-slate-300">{formatNumber(v.fuzzing_score, 2)}</td>
                <td className="px-1 py-1.5 text-right font-mono text-xs text-slate-100">{formatNumber(v.score, 2)}</td>
                <td className="px-2 py-1.5 text-xs">
                  <div className="truncate text-slate-300">{setBy(v)}</div>
                  <div className="truncate text-[11px] text-slate-500">{formatDate(v.created_at)}</div>
                </td>
                <td className="px-2 py-1 text-right">
                  {v.is_current ? (
                    <span className="rounded bg-emerald-900/60 px-1.5 py-0.5 text-[11px] text-emerald-300" data-testid="label-version-current">
                      current
                    </span>
                  ) : (
                    <Button
                      className="whitespace-nowrap px-2 py-0.5 text-xs"
                      disabled={makeCurrent.isPending}
                      onClick={() => makeCurrent.mutate(v)}
                      data-testid="label-version-make-current"
                    >
                      Make current
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorLine error={makeCurrent.error} />
      {chosen.length === 2 ? (
        <LabelCompare versions={[chosen[0], chosen[1]]} />
      ) : (
        <p className="text-xs text-slate-500" data-testid="label-compare-hint">
          {versions.length > 1 ? "Tick two versions to compare them side by side." : "One version so far: a later run or edit adds another."}
        </p>
      )}
    </div>
  );
}
