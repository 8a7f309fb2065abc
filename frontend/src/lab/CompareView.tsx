/**
 * The SAE lab's compare view: every SAE of a model and hook (trained or imported) on one scatter
 * of two metrics the user picks, with bootstrap error bars and the Pareto front; a table of the
 * same SAEs; evaluations queued for SAEs that have none; two picked SAEs open a feature matching.
 */
import { useMemo, useState } from "react";
import { API_BASE } from "../api/client";
import type { ComparePoint, MetricValue } from "../api/types";
import { DownloadLink } from "../components/DownloadLink";
import { Button, Card, Empty, ErrorLine, PanelHeader } from "../components/ui";
import { formatNumber } from "../lib/format";
import { useUi } from "../store/ui";
import { CompareChart } from "./CompareChart";
import { AXES, axis, chartPoints } from "./compare";
import { useCompare, useEvaluate, type CompareScope } from "./queries";
import { matchUrl } from "./routes";

const GROUPS = ["core", "absorption", "probing"] as const;

function Interval({ m }: { m: MetricValue | undefined }) {
  if (m?.value == null) return <span className="text-slate-600">–</span>;
  const span = m.low != null && m.high != null ? ` [${formatNumber(m.low)}, ${formatNumber(m.high)}]` : "";
  return (
    <span title={`95% bootstrap interval${span}`}>
      {formatNumber(m.value)}
      {span && <span className="ml-1 text-[10px] text-slate-500">{span}</span>}
    </span>
  );
}

function EvaluateCard({ points }: { points: ComparePoint[] }) {
  const evaluate = useEvaluate();
  const [groups, setGroups] = useState<string[]>(["core", "absorption", "probing"]);
  const [sequences, setSequences] = useState(32);
  const [splice, setSplice] = useState(true);
  const missing = points.filter((p) => p.eval_status === "none" || p.eval_status === "failed");
  const running = points.filter((p) => p.eval_status === "pending").length;
  return (
    <Card title="Evaluations" testId="lab-evaluate">
      <div className="flex flex-wrap items-center gap-4 text-sm text-slate-300">
        {GROUPS.map((g) => (
          <label key={g} className="flex items-center gap-1.5">
            <input
              type="checkbox"
              checked={groups.includes(g)}
              onChange={() => setGroups((s) => (s.includes(g) ? s.filter((x) => x !== g) : [...s, g]))}
              data-testid={`lab-eval-${g}`}
            />
            {g}
          </label>
        ))}
        <label className="flex items-center gap-1.5" title="Splice each SAE into the model for CE-loss and KL scores (two more forward passes)">
          <input type="checkbox" checked={splice} disabled={!groups.includes("core")} onChange={(e) => setSplice(e.target.checked)} data-testid="lab-eval-splice" />
          CE/KL
        </label>
        <label className="flex items-center gap-1.5">
          held-out sequences
          <input
            type="number"
            min={2}
            value={sequences}
            onChange={(e) => setSequences(Math.max(2, Number(e.target.value) || 2))}
            className="w-20 rounded border border-slate-700 bg-slate-950 px-2 py-1"
            data-testid="lab-eval-sequences"
          />
        </label>
        <Button
          variant="primary"
          disabled={missing.length === 0 || groups.length === 0 || evaluate.isPending}
          onClick={() => evaluate.mutate({ ids: missing.map((p) => p.id), body: { metrics: groups as ("core" | "absorption" | "probing")[], n_sequences: sequences, splice } })}
          data-testid="lab-evaluate-missing"
        >
          Evaluate {missing.length} SAE{missing.length === 1 ? "" : "s"} without evaluations
        </Button>
        {running > 0 && <span className="text-xs text-amber-300" data-testid="lab-eval-running">{running} evaluating…</span>}
      </div>
      <ErrorLine error={evaluate.error} className="mt-2" />
    </Card>
  );
}

export function CompareView() {
  const [scope, setScope] = useState<CompareScope>({ modelId: null, hookName: null });
  const compare = useCompare(scope);
  const [xKey, setX] = useState("l0");
  const [yKey, setY] = useState("fvu");
  const [logX, setLogX] = useState(true);
  const [logY, setLogY] = useState(false);
  const [picked, setPicked] = useState<number[]>([]);
  const setPanel = useUi((s) => s.setPanel);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const points = useMemo(() => compare.data?.points ?? [], [compare.data]);
  const chart = useMemo(
    () => chartPoints(points, xKey, yKey, logX && axis(xKey).loggable, logY && axis(yKey).loggable),
    [points, xKey, yKey, logX, logY],
  );
  const pick = (id: number) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  const groups = compare.data?.groups ?? [];
  const current = points[0] ? `${points[0].model_id ?? ""}|${points[0].hook_name ?? ""}` : "";
  const query = points[0] ? `model_id=${points[0].model_id ?? ""}&hook_name=${encodeURIComponent(points[0].hook_name ?? "")}` : "";
  const shownKeys = [xKey, yKey, ...["fvu", "ce_loss_score", "absorption_fraction", "probing_top_1"].filter((k) => k !== xKey && k !== yKey)];
  const front = chart.filter((p) => p.onFront).sort((a, b) => a.x - b.x);
  const AxisSelect = ({ value, onChange, testId }: { value: string; onChange: (v: string) => void; testId: string }) => (
    <select value={value} onChange={(e) => onChange(e.target.value)} className="rounded border border-slate-700 bg-slate-950 px-2 py-1 text-sm" data-testid={testId}>
      {AXES.map((a) => (
        <option key={a.key} value={a.key}>
          {a.label}
        </option>
      ))}
    </select>
  );
  return (
    <div className="space-y-6">
      <PanelHeader
        title="SAE lab"
        subtitle="Every SAE of a model and hook on one chart: pick the axes, read the trade-off, match two SAEs' features."
        actions={
          query && (
            <div className="flex gap-2 text-sm">
              <DownloadLink url={`${API_BASE}/lab/compare/download?${query}&form=csv`} filename="sae-compare.csv" testId="lab-download-csv" title="One row per SAE and metric" className="text-emerald-300 hover:underline">
                CSV
              </DownloadLink>
              <DownloadLink url={`${API_BASE}/lab/compare/download?${query}&form=json`} filename="sae-compare.json" testId="lab-download-json" title="The whole compare table" className="text-emerald-300 hover:underline">
                JSON
              </DownloadLink>
            </div>
          )
        }
      />
      <ErrorLine error={compare.error} />
      {compare.data && groups.length === 0 && <Empty>No SAEs yet: train one, or add one on the SAEs panel.</Empty>}
      {groups.length > 0 && (
        <Card testId="lab-compare">
          <div className="mb-3 flex flex-wrap items-center gap-3 text-sm text-slate-300">
            <select
              value={current}
              onChange={(e) => {
                const [m, h] = e.target.value.split("|");
                setScope({ modelId: m ? Number(m) : null, hookName: h || null });
                setPicked([]);
              }}
              className="max-w-md rounded border border-slate-700 bg-slate-950 px-2 py-1"
              data-testid="lab-group"
            >
              {groups.map((g) => (
                <option key={`${g.model_id}|${g.hook_name}`} value={`${g.model_id ?? ""}|${g.hook_name ?? ""}`}>
                  {g.model_name ?? "no model"} · {g.hook_name ?? "no hook"} ({g.n_saes})
                </option>
              ))}
            </select>
            <span className="text-slate-500">x</span>
            <AxisSelect value={xKey} onChange={setX} testId="lab-x" />
            <label className="flex items-center gap-1 text-xs">
              <input type="checkbox" checked={logX} disabled={!axis(xKey).loggable} onChange={(e) => setLogX(e.target.checked)} data-testid="lab-log-x" /> log
            </label>
            <span className="text-slate-500">y</span>
            <AxisSelect value={yKey} onChange={setY} testId="lab-y" />
            <label className="flex items-center gap-1 text-xs">
              <input type="checkbox" checked={logY} disabled={!axis(yKey).loggable} onChange={(e) => setLogY(e.target.checked)} data-testid="lab-log-y" /> log
            </label>
          </div>
          {chart.length === 0 ? (
            <Empty>No SAE of this group has both {axis(xKey).label} and {axis(yKey).label} yet: evaluate them below.</Empty>
          ) : (
            <CompareChart points={chart} xKey={xKey} yKey={yKey} logX={logX && axis(xKey).loggable} logY={logY && axis(yKey).loggable} picked={picked} onPick={pick} />
          )}
          <p className="mt-2 text-xs text-slate-400" data-testid="lab-front">
            {front.length > 0
              ? `Pareto front (${axis(xKey).better === "low" ? "lower" : "higher"} ${axis(xKey).label}, ${axis(yKey).better === "low" ? "lower" : "higher"} ${axis(yKey).label} is better): ${front.map((p) => p.name).join(" → ")}`
              : "No Pareto front yet."}
          </p>
        </Card>
      )}
      {points.length > 0 && (
        <Card
          title={`SAEs (${points.length})`}
          actions={
            picked.length === 2 ? (
              <a href={matchUrl(picked[0], picked[1])} data-testid="lab-match-link" className="rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-500">
                Match #{picked[0]} ↔ #{picked[1]}
              </a>
            ) : (
              <span className="text-xs text-slate-500">Pick two SAEs (chart or table) to match their features</span>
            )
          }
        >
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="lab-table">
              <thead className="text-left text-[11px] uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="py-2 pr-3" />
                  <th className="py-2 pr-3">Name</th>
                  <th className="py-2 pr-3">Arch.</th>
                  <th className="py-2 pr-3 text-right">Width</th>
                  {shownKeys.map((k) => (
                    <th key={k} className="py-2 pr-3 text-right font-medium">
                      {axis(k).label}
                    </th>
                  ))}
                  <th className="py-2 pr-3">Eval</th>
                  <th className="py-2" />
                </tr>
              </thead>
              <tbody>
                {points.map((p) => (
                  <tr key={p.id} className="border-t border-slate-800 text-slate-300" data-testid={`lab-row-${p.id}`}>
                    <td className="py-1.5 pr-3">
                      <input type="checkbox" checked={picked.includes(p.id)} onChange={() => pick(p.id)} data-testid={`lab-pick-${p.id}`} aria-label={`pick ${p.name}`} />
                    </td>
                    <td className="max-w-[16rem] truncate py-1.5 pr-3" title={p.name}>
                      {p.name}
                      {p.origin === "imported" && <span className="ml-1.5 rounded bg-sky-500/10 px-1 text-[10px] text-sky-300">imported</span>}
                    </td>
                    <td className="py-1.5 pr-3">{p.architecture ?? "?"}</td>
                    <td className="py-1.5 pr-3 text-right tabular-nums">{p.d_sae?.toLocaleString() ?? "?"}</td>
                    {shownKeys.map((k) => (
                      <td key={k} className="whitespace-nowrap py-1.5 pr-3 text-right tabular-nums">
                        <Interval m={p.metrics[k]} />
                      </td>
                    ))}
                    <td className="py-1.5 pr-3 text-xs" data-testid={`lab-status-${p.id}`}>
                      {p.eval_status}
                    </td>
                    <td className="py-1.5 text-right">
                      <Button
                        variant="ghost"
                        className="text-xs"
                        onClick={() => {
                          setExtractSaeId(p.id);
                          setPanel("features");
                        }}
                        title="Open this SAE's features (extract them first if needed)"
                        data-testid={`lab-open-${p.id}`}
                      >
                        Open
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
      {points.length > 0 && <EvaluateCard points={points} />}
    </div>
  );
}
