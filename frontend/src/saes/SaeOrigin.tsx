/** Where an SAE came from: trained here, or imported (format, repo, folder, commit, release; file hashes on demand). */
import { useState } from "react";
import type { SAE } from "../api/types";

type Lineage = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

/** One line: "hub · org/repo/folder @ abc1234 · saelens", "release · name · ...", "trained · training 3". */
export function originSummary(sae: Pick<SAE, "origin" | "lineage" | "training_id">): string {
  const l = (sae.lineage ?? {}) as Lineage;
  if (sae.origin === "trained") return sae.training_id ? `trained · training ${sae.training_id}` : "trained";
  const kind = str(l.origin);
  const format = str(l.format);
  if (kind === "local") return ["local", str(l.local_path) ?? str(l.source), format].filter(Boolean).join(" · ");
  if (kind === "hub" || kind === "release") {
    const repo = str(l.repo);
    const path = str(l.path);
    const where = repo ? `${repo}${path ? `/${path}` : ""}` : str(l.source);
    const rev = str(l.revision);
    const release = kind === "release" ? str(l.release) : null;
    return [release ?? kind, where && `${where}${rev ? ` @ ${rev.slice(0, 7)}` : ""}`, format].filter(Boolean).join(" · ");
  }
  return ["imported", str(l.path) ?? str(l.source), format].filter(Boolean).join(" · ");
}

export function SaeOrigin({ sae }: { sae: SAE }) {
  const [open, setOpen] = useState(false);
  const files = ((sae.lineage ?? {}) as Lineage).files;
  const hashes = files && typeof files === "object" ? Object.entries(files as Record<string, unknown>) : [];
  const summary = originSummary(sae);
  return (
    <div className="text-[11px] text-slate-500" data-testid="sae-origin">
      <span className="break-all" title={summary}>
        {summary}
      </span>
      {hashes.length > 0 && (
        <button type="button" className="ml-1 text-slate-400 hover:text-slate-200" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? "▾ files" : "▸ files"}
        </button>
      )}
      {open && (
        <ul className="mt-1 space-y-0.5 font-mono" data-testid="sae-origin-files">
          {hashes.map(([name, hash]) => (
            <li key={name} className="break-all">
              {name} <span className="text-slate-600">sha256 {String(hash)}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
