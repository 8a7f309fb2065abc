/** A matched pair side by side: each latent's label and top examples (the features browser's
 * Examples tab), read from its SAE's newest extraction; an SAE without one says how to get it. */
import type { SAE } from "../../api/types";
import { Card, Empty, ErrorLine } from "../../components/ui";
import { ExamplesTab } from "../../features/ExamplesTab";
import { Loading } from "../../features/Loading";
import { useLatent, useSaeExtraction } from "./queries";

function LatentColumn({ side, sae, index }: { side: "A" | "B"; sae: SAE | undefined; index: number }) {
  const extraction = useSaeExtraction(sae?.id ?? null);
  const latent = useLatent(extraction.data?.id, index);
  const title = (
    <span>
      {side} · latent {index} <span className="font-normal text-slate-400">of {sae ? `#${sae.id} ${sae.name}` : "?"}</span>
    </span>
  );
  let body;
  if (extraction.error || latent.error) body = <ErrorLine error={extraction.error ?? latent.error} />;
  else if (extraction.isLoading || (extraction.data && latent.isLoading)) body = <Loading />;
  else if (!extraction.data) body = <Empty>No examples: extract this SAE to see its examples (Features panel).</Empty>;
  else if (!latent.data) body = <Empty>Latent {index} has no row in extraction #{extraction.data.id}.</Empty>;
  else
    body = (
      <div className="space-y-2">
        <div className="text-sm" data-testid={`pair-label-${side}`}>
          {latent.data.label ? <span className="text-slate-100">{latent.data.label}</span> : <span className="italic text-slate-500">unlabelled</span>}
        </div>
        <ExamplesTab feature={latent.data} />
      </div>
    );
  return (
    <Card title={title} testId={`pair-side-${side}`} className="min-w-0">
      {body}
    </Card>
  );
}

export function PairDetail({ saeA, saeB, pair }: { saeA: SAE | undefined; saeB: SAE | undefined; pair: { a: number; b: number } }) {
  return (
    <div className="grid min-w-0 items-start gap-4 lg:grid-cols-2" data-testid="pair-detail">
      <LatentColumn side="A" sae={saeA} index={pair.a} />
      <LatentColumn side="B" sae={saeB} index={pair.b} />
    </div>
  );
}
