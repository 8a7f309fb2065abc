/** A tokenization's statistics (length histogram, vocabulary use) and its token samples. */
import { useState } from "react";
import type { Tokenization } from "../api/types";
import { HistogramChart } from "../components/charts";
import { TokenText } from "../components/TokenText";
import { ErrorLine, Modal, Stat, Tabs } from "../components/ui";
import { formatCount, formatNumber } from "../lib/format";
import { PAGE, Pager } from "./Pager";
import { useTokenizationSamples, useTokenizationStats } from "./queries";

export function TokenizationStatsDialog({ tokenization: t, onClose }: { tokenization: Tokenization; onClose: () => void }) {
  const stats = useTokenizationStats(t.id);
  const [page, setPage] = useState(0);
  const samples = useTokenizationSamples(t.id, page * PAGE, PAGE);
  const [tab, setTab] = useState<"stats" | "samples">("stats");
  const s = stats.data;
  return (
    <Modal title={`Tokenization ${t.name}`} onClose={onClose} wide>
      <Tabs tabs={[{ id: "stats", label: "Statistics" }, { id: "samples", label: "Token samples" }]} value={tab} onChange={setTab} />
      <ErrorLine error={stats.error} />
      {tab === "stats" && s && (
        <div className="space-y-4" data-testid="tokenization-stats">
          <div className="grid grid-cols-3 gap-2 md:grid-cols-6">
            <Stat label="Documents" value={formatCount(s.n_documents)} />
            <Stat label="Tokens" value={formatCount(s.n_tokens)} />
            <Stat label="Sequences" value={formatCount(s.n_sequences)} />
            <Stat label="Mean length" value={formatNumber(s.mean_document_length)} />
            <Stat label="Distinct tokens" value={formatCount(s.n_distinct_tokens)} />
            <Stat label="Vocab coverage" value={`${(100 * s.vocab_coverage).toFixed(1)}%`} />
          </div>
          <div className="grid gap-4 md:grid-cols-2">
            <div>
              <div className="mb-1 text-xs text-slate-400">Document length (tokens)</div>
              <HistogramChart bins={s.document_length_histogram.bins} counts={s.document_length_histogram.counts} />
            </div>
            <div>
              <div className="mb-1 text-xs text-slate-400">Sequence fill (tokens)</div>
              <HistogramChart bins={s.sequence_length_histogram.bins} counts={s.sequence_length_histogram.counts} />
            </div>
          </div>
          <div>
            <div className="mb-1 text-xs text-slate-400">Top tokens</div>
            <div className="grid grid-cols-2 gap-x-6 gap-y-0.5 md:grid-cols-4" data-testid="top-tokens">
              {s.top_tokens.slice(0, 40).map((tok) => (
                <div key={tok.id} className="flex justify-between font-mono text-xs">
                  <span className="truncate text-slate-200">{JSON.stringify(tok.text)}</span>
                  <span className="text-slate-500">{formatCount(tok.count)}</span>
                </div>
              ))}
            </div>
          </div>
        </div>
      )}
      {tab === "samples" && (
        <div className="space-y-2">
          <ErrorLine error={samples.error} />
          <div className="max-h-[55vh] space-y-2 overflow-y-auto">
            {samples.data?.map((seq) => (
              <div key={seq.index} className="rounded-md border border-slate-800 bg-slate-950/60 p-2">
                <div className="mb-1 text-[11px] text-slate-500">
                  sequence {seq.index} · document {seq.document} · {seq.input_ids.length} tokens
                </div>
                <TokenText tokens={seq.strings} acts={seq.strings.map((_, i) => (i % 2 ? 0.25 : 0.1))} max={1} />
              </div>
            ))}
          </div>
          <Pager page={page} setPage={setPage} hasNext={(samples.data?.length ?? 0) === PAGE} total={t.n_sequences} />
        </div>
      )}
    </Modal>
  );
}
