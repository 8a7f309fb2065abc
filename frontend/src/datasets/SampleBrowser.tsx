/** Paged raw documents of a dataset, rendered as text (never as HTML). */
import { useState } from "react";
import type { Dataset } from "../api/types";
import { ErrorLine, Modal } from "../components/ui";
import { formatCount } from "../lib/format";
import { PAGE, Pager } from "./Pager";
import { useDatasetSamples } from "./queries";

export function SampleBrowser({ dataset, onClose }: { dataset: Dataset; onClose: () => void }) {
  const [page, setPage] = useState(0);
  const samples = useDatasetSamples(dataset.id, page * PAGE, PAGE);
  const items = samples.data ?? [];
  return (
    <Modal title={`Samples of ${dataset.name}`} onClose={onClose} wide footer={<Pager page={page} setPage={setPage} hasNext={items.length === PAGE} total={dataset.n_documents} />}>
      <ErrorLine error={samples.error} />
      <div className="max-h-[60vh] space-y-3 overflow-y-auto" data-testid="sample-list">
        {items.map((s) => (
          <div key={s.index} className="rounded-md border border-slate-800 bg-slate-950/60 p-3">
            <div className="mb-1 flex justify-between text-[11px] text-slate-500">
              <span>#{s.index}</span>
              <span>
                {formatCount(s.n_chars)} chars{s.truncated ? " (truncated)" : ""}
              </span>
            </div>
            <pre className="max-h-64 overflow-auto whitespace-pre-wrap break-words font-mono text-xs text-slate-200">{s.text}</pre>
            {Object.keys(s.metadata ?? {}).length > 0 && (
              <div className="mt-1 truncate font-mono text-[11px] text-slate-500">{JSON.stringify(s.metadata)}</div>
            )}
          </div>
        ))}
      </div>
    </Modal>
  );
}
