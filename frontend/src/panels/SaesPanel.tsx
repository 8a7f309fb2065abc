/** SAEs: trained and imported SAEs with their evaluations; "Extract features" from each. */
import { useState } from "react";
import { api } from "../api/client";
import { useApiMutation, useSaes } from "../api/hooks";
import type { SAE, SAEImport } from "../api/types";
import { Button, Card, Empty, ErrorLine, Field, PanelHeader, StatusPill } from "../components/ui";
import { formatCount, formatDate, formatNumber } from "../lib/format";
import { useUi } from "../store/ui";

const EVAL_KEYS = ["fvu", "explained_variance", "l0", "dead_fraction", "dense_fraction", "ce_loss_recovered", "kl"];

function flatMetrics(metrics: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (obj: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(obj)) {
      if (typeof v === "number") out[prefix + k] = v;
      else if (v && typeof v === "object" && !Array.isArray(v) && prefix === "") walk(v as Record<string, unknown>, "");
    }
  };
  walk(metrics ?? {}, "");
  return out;
}

export function SaesPanel() {
  const saes = useSaes();
  const setPanel = useUi((s) => s.setPanel);
  const setExtractSaeId = useUi((s) => s.setExtractSaeId);
  const extract = (sae: SAE) => {
    setExtractSaeId(sae.id);
    setPanel("features");
  };
  return (
    <div className="space-y-6">
      <PanelHeader title="SAEs" subtitle="Sparse autoencoders trained here or imported, with their evaluations." />
      <ImportSaeCard />
      <ErrorLine error={saes.error} />
      {saes.data?.items.length === 0 && <Empty>No SAEs yet: train one, or import a SAELens folder.</Empty>}
      {(saes.data?.items.length ?? 0) > 0 && (
        <Card>
          <div className="overflow-x-auto">
            <table className="w-full text-sm" data-testid="sae-table">
              <thead className="text-left text-[11px] uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="py-2 pr-3">Name</th>
                  <th className="py-2 pr-3">Arch.</th>
                  <th className="py-2 pr-3">Hook</th>
                  <th className="py-2 pr-3 text-right">d_in</th>
                  <th className="py-2 pr-3 text-right">d_sae</th>
                  {EVAL_KEYS.map((k) => (
                    <th key={k} className="py-2 pr-3 text-right font-medium">
                      {k.replace(/_/g, " ")}
                    </th>
                  ))}
                  <th className="py-2 pr-3">Origin</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {saes.data?.items.map((s) => (
                  <SaeRow key={s.id} sae={s} onExtract={() => extract(s)} />
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}

function SaeRow({ sae: s, onExtract }: { sae: SAE; onExtract: () => void }) {
  const remove = useApiMutation(() => api.del(`/saes/${s.id}`), ["saes"]);
  const m = flatMetrics(s.metrics as Record<string, unknown>);
  return (
    <>
      <tr className="border-t border-slate-800" data-testid={`sae-${s.id}`}>
        <td className="py-2 pr-3">
          <div className="font-medium text-slate-100">{s.name}</div>
          <div className="text-[11px] text-slate-500">
            {formatDate(s.created_at)} · <StatusPill status={s.status} />
          </div>
        </td>
        <td className="py-2 pr-3 text-slate-300">{s.architecture ?? "–"}</td>
        <td className="py-2 pr-3 font-mono text-xs text-slate-300">{s.hook_name ?? "–"}</td>
        <td className="py-2 pr-3 text-right font-mono text-xs">{formatCount(s.d_in)}</td>
        <td className="py-2 pr-3 text-right font-mono text-xs">{formatCount(s.d_sae)}</td>
        {EVAL_KEYS.map((k) => (
          <td key={k} className="py-2 pr-3 text-right font-mono text-xs text-slate-300">
            {k in m ? formatNumber(m[k]) : "–"}
          </td>
        ))}
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

function ImportSaeCard() {
  const [path, setPath] = useState("");
  const [name, setName] = useState("");
  const create = useApiMutation((body: SAEImport) => api.post("/saes/import", body), ["saes"], () => setPath(""));
  return (
    <Card title="Import an SAE (SAELens folder)">
      <div className="grid gap-3 sm:grid-cols-3">
        <Field label="Folder on the server" className="sm:col-span-2" hint="cfg.json + sae_weights.safetensors, under MISTUDIO_IMPORT_ROOTS">
          <input value={path} onChange={(e) => setPath(e.target.value)} placeholder="/saes/blocks.6.hook_resid_post" />
        </Field>
        <Field label="Name">
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
      </div>
      <div className="mt-3 flex items-center gap-3">
        <Button disabled={!path.trim() || create.isPending} onClick={() => create.mutate({ path: path.trim(), name: name.trim() || null })}>
          Import
        </Button>
        <ErrorLine error={create.error} className="flex-1" />
      </div>
    </Card>
  );
}
