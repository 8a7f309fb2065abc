/**
 * What a latent's top-activating tokens are linguistically: the one-line summary, the share of
 * each category (part of speech for prose, code class for code) as bars, entity types and the
 * lemmas behind them. Before the extraction was analysed it says how to run the analysis.
 */
import { ApiError } from "../api/client";
import type { Feature, LinguisticSummary } from "../api/types";
import { Empty, ErrorLine, Stat } from "../components/ui";
import { Loading } from "./Loading";
import { useFeatureLinguistics } from "./queries";

const pct = (v: number) => `${Math.round(v * 100)}%`;

/** `code:keyword` -> "code keyword"; parts of speech as spaCy names them (VERB, NOUN, ...). */
export const categoryLabel = (c: string) => (c.startsWith("code:") ? `code ${c.slice(5)}` : c);

function ShareBars({ shares, testId }: { shares: Record<string, number>; testId: string }) {
  const rows = Object.entries(shares).slice(0, 8);
  if (!rows.length) return <span className="text-xs text-slate-500">none</span>;
  return (
    <div className="space-y-1" data-testid={testId}>
      {rows.map(([name, share]) => (
        <div key={name} className="grid grid-cols-[8rem_1fr_3rem] items-center gap-2 text-xs" data-testid="share-row">
          <span className="truncate text-slate-300" title={name}>
            {categoryLabel(name)}
          </span>
          <div className="h-2 rounded bg-slate-800">
            <div className="h-2 rounded bg-sky-500" style={{ width: pct(share) }} />
          </div>
          <span className="text-right font-mono text-slate-400">{pct(share)}</span>
        </div>
      ))}
    </div>
  );
}

function Lemmas({ lemmas }: { lemmas: [string, number][] }) {
  if (!lemmas.length) return <span className="text-xs text-slate-500">none</span>;
  return (
    <div className="flex flex-wrap gap-1" data-testid="ling-lemmas">
      {lemmas.map(([word, share]) => (
        <span key={word} className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-xs text-slate-200">
          {word || "␣"} <span className="text-slate-500">{pct(share)}</span>
        </span>
      ))}
    </div>
  );
}

export function LinguisticsView({ s }: { s: LinguisticSummary }) {
  return (
    <div className="space-y-4" data-testid="linguistics">
      <p className="text-sm text-sky-200" data-testid="ling-text">
        {s.text}
      </p>
      <div className="grid grid-cols-2 gap-2 md:grid-cols-5">
        <Stat label="Examples read" value={s.n_examples.toLocaleString("en-US")} />
        <Stat label="In code" value={pct(s.code_share)} />
        <Stat label="Stop words" value={pct(s.stop_share)} />
        <Stat label="Punctuation" value={pct(s.punct_share)} />
        <Stat label="Numbers" value={pct(s.number_share)} />
      </div>
      <div className="grid gap-4 md:grid-cols-2">
        <div>
          <div className="mb-1 text-xs text-slate-400">Categories (part of speech / code class)</div>
          <ShareBars shares={s.categories} testId="ling-categories" />
        </div>
        <div className="space-y-3">
          <div>
            <div className="mb-1 text-xs text-slate-400">Named entities</div>
            <ShareBars shares={s.entities} testId="ling-entities" />
          </div>
          <div>
            <div className="mb-1 text-xs text-slate-400">Top lemmas / code tokens</div>
            <Lemmas lemmas={s.top_lemmas as [string, number][]} />
          </div>
        </div>
      </div>
      <p className="text-[11px] text-slate-500">
        Read by {s.pipeline} (prose) and Python&apos;s tokenizer (code), at the token each top example was chosen for.
      </p>
    </div>
  );
}

export function LinguisticsTab({ feature }: { feature: Feature }) {
  const q = useFeatureLinguistics(feature.id);
  if (q.error instanceof ApiError && q.error.status === 404) {
    return (
      <Empty>
        <span data-testid="ling-missing">No linguistic analysis of this extraction yet: run it with &ldquo;Analyse linguistics&rdquo; on the extraction&apos;s card.</span>
      </Empty>
    );
  }
  if (q.error) return <ErrorLine error={q.error} />;
  if (!q.data) return <Loading />;
  return <LinguisticsView s={q.data} />;
}
